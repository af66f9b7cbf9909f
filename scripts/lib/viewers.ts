import { spawn } from 'node:child_process';

/**
 * The viewers' process (scripts/lib/viewer-process.ts) at nice 19, asked one JSON line at a time: Node WebRTC
 * viewers that connect over WHEP and count received frames, away from the server's event loop.
 */
export function startViewerProcess() {
  const child = spawn(
    'nice',
    ['-n', '19', process.execPath, '--import', 'tsx', 'scripts/lib/viewer-process.ts'],
    { stdio: ['pipe', 'pipe', 'inherit'] },
  );
  let buffered = '';
  const waiting: ((v: unknown) => void)[] = [];
  child.stdout!.on('data', (d: Buffer) => {
    buffered += d.toString();
    for (let nl = buffered.indexOf('\n'); nl >= 0; nl = buffered.indexOf('\n')) {
      const line = buffered.slice(0, nl);
      buffered = buffered.slice(nl + 1);
      if (line.startsWith('{')) waiting.shift()?.(JSON.parse(line));
    }
  });
  return {
    ask: (cmd: unknown) =>
      new Promise<unknown>((resolve) => {
        waiting.push(resolve);
        child.stdin!.write(`${JSON.stringify(cmd)}\n`);
      }),
    stop: () => child.kill('SIGKILL'),
  };
}
