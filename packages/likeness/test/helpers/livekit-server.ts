import { type ChildProcess, execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

/**
 * A real LiveKit server for tests: the Go program `github.com/livekit/livekit-server` at a pinned release.
 * Taken from the PATH when there, otherwise built once with `go install` (Go module proxy) and cached.
 * v1.11.0 is the newest release whose module graph resolves through the public Go proxy (later ones pin
 * pseudo-versions of livekit/protocol and psrpc the proxy refuses).
 */
export const LIVEKIT_VERSION = 'v1.11.0';
const MODULE = 'github.com/livekit/livekit-server/cmd/server';
const CACHE_DIR = path.join(os.homedir(), '.cache', 'likeness');
export const DEV_KEY = 'devkey';
export const DEV_SECRET = 'secret';

const run = promisify(execFile);

async function onPath(): Promise<string | undefined> {
  try {
    const { stdout } = await run('sh', ['-c', 'command -v livekit-server']);
    return stdout.trim() || undefined;
  } catch {
    return undefined;
  }
}

/** The binary's path, building it on first use (about 3 minutes of CPU on 2 cores, once per machine). */
export async function liveKitBinary(): Promise<string> {
  const found = await onPath();
  if (found) return found;
  const cached = path.join(CACHE_DIR, `livekit-server-${LIVEKIT_VERSION}`);
  if (fs.existsSync(cached)) return cached;
  const gobin = fs.mkdtempSync(path.join(os.tmpdir(), 'livekit-build-'));
  await run('go', ['install', `${MODULE}@${LIVEKIT_VERSION}`], {
    env: { ...process.env, GOBIN: gobin, GOFLAGS: '-mod=mod' },
    maxBuffer: 16 * 1024 * 1024,
    timeout: 15 * 60_000,
  });
  fs.mkdirSync(CACHE_DIR, { recursive: true });
  fs.renameSync(path.join(gobin, 'server'), cached);
  fs.rmSync(gobin, { recursive: true, force: true });
  return cached;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

export interface LiveKitServer {
  url: string;
  apiKey: string;
  apiSecret: string;
  stop(): Promise<void>;
}

/** Starts `livekit-server --dev` on loopback, on free ports, and waits until it answers. */
export async function startLiveKit(): Promise<LiveKitServer> {
  const bin = await liveKitBinary();
  const [port, tcp, udp] = [await freePort(), await freePort(), await freePort()];
  const config = [
    `port: ${port}`,
    'rtc:',
    `  tcp_port: ${tcp}`,
    `  udp_port: ${udp}`,
    '  use_external_ip: false',
    '  node_ip: 127.0.0.1',
  ].join('\n');
  const child: ChildProcess = spawn(bin, ['--dev', '--bind', '127.0.0.1', '--config-body', config], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let log = '';
  child.stderr!.on('data', (d: Buffer) => {
    log = (log + d.toString()).slice(-4000);
  });
  const url = `ws://127.0.0.1:${port}`;
  const deadline = Date.now() + 20_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`livekit-server exited: ${log}`);
    const ok = await fetch(`http://127.0.0.1:${port}/`)
      .then((r) => r.ok)
      .catch(() => false);
    if (ok) break;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`livekit-server did not start: ${log}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    url,
    apiKey: DEV_KEY,
    apiSecret: DEV_SECRET,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
        setTimeout(() => child.kill('SIGKILL'), 3000).unref();
      }),
  };
}
