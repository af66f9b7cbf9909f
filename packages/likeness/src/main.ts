import { loadConfig } from './config.ts';
import { startServer } from './server.ts';

const config = loadConfig();
const server = await startServer(config);
// One process serves every tenant's live sessions: a stray rejected promise (a bug) is logged, not allowed to
// take them all down. A thrown exception that nothing caught leaves the process in an unknown state: log and
// exit, for the supervisor to restart it (the start-up sweep cleans up after it).
process.on('unhandledRejection', (err) => server.services.logger.error({ err }, 'unhandled rejection'));
process.on('uncaughtException', (err) => {
  server.services.logger.fatal({ err }, 'uncaught exception; exiting');
  process.exit(1);
});
if (server.bootstrapKey) {
  // Printed once: only its hash is stored.
  process.stdout.write(
    `\n  Likeness created an API key for you (shown only this once):\n\n    ${server.bootstrapKey}\n\n` +
      `  Try: curl -H "Authorization: Bearer ${server.bootstrapKey}" ${server.url}/v1/characters\n\n`,
  );
}
process.stdout.write(`  Likeness is running at ${server.url}  (API reference: ${server.url}/docs)\n`);

let stopping = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (stopping) process.exit(1);
    stopping = true;
    server.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  });
}
