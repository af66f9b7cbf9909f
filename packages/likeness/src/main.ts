import { loadConfig } from './config.ts';
import { startServer } from './server.ts';

const config = loadConfig();
const server = await startServer(config);
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
