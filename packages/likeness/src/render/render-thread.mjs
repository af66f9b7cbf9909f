// A render thread: draws frames for the live sessions assigned to it (render-pool.ts). The renderer is
// TypeScript; this thread has no loader of its own, so it registers tsx's before importing it.
import os from 'node:os';
import { parentPort, workerData } from 'node:worker_threads';
import { register } from 'tsx/esm/api';

register();
// On Linux a priority set with pid 0 applies to the calling thread only: batch threads yield to live ones.
if (workerData?.niceness) {
  try {
    os.setPriority(0, workerData.niceness);
  } catch {
    // not permitted here: run at the same priority
  }
}
const { PortraitRenderer } = await import('./renderer.ts');

/** id -> { renderer, slots: two Uint8Arrays over the session's shared frame buffer } */
const sessions = new Map();

parentPort.on('message', (msg) => {
  if (msg.type === 'open') {
    const renderer = new PortraitRenderer(msg.identity, msg.rgba, msg.size);
    const bytes = msg.size * msg.size * 4;
    sessions.set(msg.id, {
      renderer,
      slots: [new Uint8Array(msg.buffer, 0, bytes), new Uint8Array(msg.buffer, bytes, bytes)],
    });
    // Warm every path of the renderer up (see WARMUP_FRAMES in render-pool.ts), off the session's clock.
    for (const frame of msg.warmup ?? []) renderer.render(frame, sessions.get(msg.id).slots[0]);
    parentPort.postMessage({ type: 'opened', id: msg.id });
  } else if (msg.type === 'render') {
    const s = sessions.get(msg.id);
    if (!s) return parentPort.postMessage({ type: 'rendered', id: msg.id, seq: msg.seq, error: 'not open' });
    try {
      s.renderer.render(msg.params, s.slots[msg.slot]);
      parentPort.postMessage({ type: 'rendered', id: msg.id, seq: msg.seq });
    } catch (err) {
      parentPort.postMessage({
        type: 'rendered',
        id: msg.id,
        seq: msg.seq,
        error: String(err?.message ?? err),
      });
    }
  } else if (msg.type === 'close') {
    sessions.delete(msg.id);
  }
});
parentPort.postMessage({ type: 'ready' });
