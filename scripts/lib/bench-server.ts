import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const BENCH_KEY = 'lk_bench_key_0123456789';

/** Starts the server as a child process (as `npm start` does) and resolves once /healthz answers. */
export async function startBenchServer(opts: {
  dataDir: string;
  port: number;
  env?: Record<string, string>;
}): Promise<{ child: ChildProcess; startMs: number; base: string }> {
  const started = performance.now();
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', path.join(ROOT, 'packages/likeness/src/main.ts')],
    {
      env: {
        ...process.env,
        PORT: String(opts.port),
        HOST: '127.0.0.1',
        LIKENESS_DATA_DIR: opts.dataDir,
        LIKENESS_API_KEY: BENCH_KEY,
        LOG_LEVEL: 'warn',
        ...opts.env,
      },
      stdio: ['ignore', 'ignore', 'inherit'],
    },
  );
  child.on('exit', (code, signal) => {
    if (code !== 0 && signal !== 'SIGTERM' && signal !== 'SIGKILL')
      console.error(`[bench] server exited: code ${code}, signal ${signal}`);
  });
  const base = `http://127.0.0.1:${opts.port}`;
  for (;;) {
    try {
      if ((await fetch(`${base}/healthz`)).ok) break;
    } catch {}
    if (child.exitCode !== null) throw new Error('server exited during start');
    await new Promise((r) => setTimeout(r, 20));
  }
  return { child, startMs: performance.now() - started, base };
}

/** JSON calls to a bench server with the bench key. */
export function benchApi(base: string) {
  return async (method: string, p: string, body?: unknown) =>
    (
      await fetch(base + p, {
        method,
        headers: { authorization: `Bearer ${BENCH_KEY}`, 'content-type': 'application/json' },
        ...(body ? { body: JSON.stringify(body) } : {}),
      })
    ).json() as Promise<Record<string, unknown>>;
}

/** What the conversation benches ask Walter, typed or spoken (a name told, then asked for). */
export const CONVERSATION_QUESTIONS = [
  'Hello, what do you do all day?',
  'What is your favourite part of the job?',
  'Tell me something about the river.',
  'My name is Ada and I love bread.',
  'Do you remember my name?',
  'What should I bake this weekend?',
  'How old is the mill?',
  'Is the work hard in winter?',
  'What do you do when it rains?',
  'Thank you, goodbye!',
];
