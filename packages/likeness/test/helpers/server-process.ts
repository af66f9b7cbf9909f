import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import { createLikenessClient, type LikenessClient } from '@likeness/sdk';
import { ADMIN_KEY } from './test-server.ts';

const MAIN = path.resolve(import.meta.dirname, '../../src/main.ts');

export interface ServerProcess {
  child: ChildProcess;
  url: string;
  client: LikenessClient;
  /** kill -9: no shutdown code runs. */
  kill(): Promise<void>;
  /** SIGTERM and wait. */
  stop(): Promise<void>;
}

/** The real server as its own process (`npm start`'s entry), for tests that kill it. */
export async function startServerProcess(
  dataDir: string,
  env: Record<string, string> = {},
): Promise<ServerProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', MAIN], {
    env: {
      ...process.env,
      PORT: '0',
      HOST: '127.0.0.1',
      LIKENESS_DATA_DIR: dataDir,
      LIKENESS_API_KEY: ADMIN_KEY,
      LOG_LEVEL: 'error',
      LIKENESS_NEURAL_VOICE: 'off',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const url = await new Promise<string>((resolve, reject) => {
    const onData = (d: Buffer) => {
      output += d.toString();
      const m = /running at (http:\/\/[^\s]+)/.exec(output);
      if (m) resolve(m[1]!);
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code, signal) => reject(new Error(`server exited (${code ?? signal}): ${output}`)));
    setTimeout(() => reject(new Error(`server did not start: ${output}`)), 60_000).unref();
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    child,
    url,
    client: createLikenessClient({ baseUrl: url, apiKey: ADMIN_KEY }),
    kill: async () => {
      child.kill('SIGKILL');
      await exited;
    },
    stop: async () => {
      child.kill('SIGTERM');
      await exited;
    },
  };
}

/** Spawns the server without waiting for it to listen: for killing it during its first start. */
export function spawnServer(dataDir: string): ChildProcess {
  return spawn(process.execPath, ['--import', 'tsx', MAIN], {
    env: {
      ...process.env,
      PORT: '0',
      HOST: '127.0.0.1',
      LIKENESS_DATA_DIR: dataDir,
      LIKENESS_API_KEY: ADMIN_KEY,
    },
    stdio: 'ignore',
  });
}
