import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createLikenessClient, type LikenessClient } from '@likeness/sdk';
import { loadConfig } from '../../src/config.ts';
import { type RunningServer, startServer } from '../../src/server.ts';

export const ADMIN_KEY = 'lk_test_admin_key_0123456789abcdef';

export interface TestServer {
  server: RunningServer;
  dataDir: string;
  client: LikenessClient;
  clientFor(key: string): LikenessClient;
  close(): Promise<void>;
}

/** A real server on a free loopback port with its own data directory (or a given one, for restarts). */
export async function startTestServer(
  opts: { dataDir?: string; env?: Record<string, string> } = {},
): Promise<TestServer> {
  const dataDir = opts.dataDir ?? (await fs.mkdtemp(path.join(os.tmpdir(), 'likeness-test-')));
  const config = loadConfig({
    PORT: '0',
    HOST: '127.0.0.1',
    LIKENESS_DATA_DIR: dataDir,
    LIKENESS_API_KEY: ADMIN_KEY,
    LOG_LEVEL: 'silent',
    // The neural voice (one 600 MB model, RTF ~0.6) is opted into by the tests about it; the rest use Flite,
    // whose speed keeps the suite's timing checks about the pipeline, not the voice.
    LIKENESS_NEURAL_VOICE: 'off',
    ...opts.env,
  });
  const server = await startServer(config);
  const clientFor = (key: string) => createLikenessClient({ baseUrl: server.url, apiKey: key });
  return { server, dataDir, client: clientFor(ADMIN_KEY), clientFor, close: () => server.close() };
}

/** Runs fn and returns the problem it was rejected with (fails if it succeeded). */
export async function problemOf(
  fn: () => Promise<unknown>,
): Promise<{ status: number; slug: string; detail: string; body: Record<string, unknown> }> {
  try {
    await fn();
  } catch (err) {
    const e = err as {
      status?: number;
      slug?: string;
      problem?: { detail: string } & Record<string, unknown>;
    };
    if (e.problem && e.status && e.slug)
      return { status: e.status, slug: e.slug, detail: e.problem.detail, body: e.problem };
    throw err;
  }
  throw new Error('expected the call to fail with a problem, but it succeeded');
}

/** Files under the data directory, relative; for "leaves nothing behind" checks. */
export async function listFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  async function walk(d: string) {
    for (const e of await fs.readdir(d, { withFileTypes: true }).catch(() => [])) {
      const full = path.join(d, e.name);
      if (e.isDirectory()) await walk(full);
      else out.push(path.relative(dir, full));
    }
  }
  await walk(dir);
  return out.filter((f) => !f.startsWith('db/')).sort();
}
