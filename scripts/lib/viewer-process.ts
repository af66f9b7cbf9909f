/**
 * WHEP viewers in their own low-priority process (the bench starts it under `nice -n 19`): on a 2-core
 * machine the viewers' own work (libwebrtc receives and decodes every frame) would otherwise compete with the
 * server being measured, while real viewers run elsewhere. Commands are JSON lines on stdin, answers on stdout:
 *   {"connect": {base, whep_url, token}} -> {"connected": n}
 *   {"frames": true}                      -> {"frames": [framesReceived per viewer]}
 *   {"close": true}                       -> {"closed": true}
 */
import readline from 'node:readline';
import { connectWhep } from '../../packages/likeness/test/helpers/whep-client.ts';

type Viewer = Awaited<ReturnType<typeof connectWhep>>;
const viewers: Viewer[] = [];
const reply = (v: unknown) => process.stdout.write(`${JSON.stringify(v)}\n`);

for await (const line of readline.createInterface({ input: process.stdin })) {
  const cmd = JSON.parse(line) as {
    connect?: { base: string; whep_url: string; token: string };
    frames?: true;
    close?: true;
  };
  if (cmd.connect) {
    viewers.push(
      await connectWhep(cmd.connect.base, cmd.connect.whep_url, cmd.connect.token, { decode: false }),
    );
    reply({ connected: viewers.length });
  } else if (cmd.frames) {
    reply({ frames: await Promise.all(viewers.map((v) => v.framesReceived())) });
  } else if (cmd.close) {
    for (const v of viewers.splice(0)) v.close();
    reply({ closed: true });
  }
}
process.exit(0);
