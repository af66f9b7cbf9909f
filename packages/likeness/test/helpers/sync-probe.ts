import { FPS } from '../../src/realtime/media-session.ts';
import { TEST_CARD_FLASH, TEST_CARD_GREY } from '../../src/realtime/test-card.ts';

/**
 * Installed in a page that plays the test card: records when its flashes start, as presented
 * (requestVideoFrameCallback; a flash seen first on a fading frame, the white one skipped, is placed that many
 * frames earlier and counted in `placed`) and when beeps are heard, both on the page's performance clock. `beepsWorklet` times
 * each beep on the audio thread (an AudioWorklet: the sample's context time, mapped by getOutputTimestamp to when
 * the device plays it); `beeps`, a main-thread ScriptProcessor's estimate, runs late by the event's dispatch
 * (~10 ms, far more on a busy page). A string, so no TypeScript helpers leak into the page.
 */
export const SYNC_PROBE = `(() => {
  const video = document.getElementById('video');
  const canvas = document.createElement('canvas');
  canvas.width = canvas.height = 16;
  const g = canvas.getContext('2d', { willReadFrequently: true });
  const probe = { white: [], placed: 0, beeps: [], frames: [], lastWhite: false, lastBeep: -1 };
  window.syncProbe = probe;
  const levels = ${JSON.stringify(TEST_CARD_FLASH)};
  const flashFrame = (v) => {
    if (v < (${TEST_CARD_GREY} + levels[levels.length - 1]) / 2) return -1;
    let best = 0;
    for (let i = 1; i < levels.length; i++) if (Math.abs(levels[i] - v) < Math.abs(levels[best] - v)) best = i;
    return best;
  };
  const onFrame = (now, meta) => {
    g.drawImage(video, 0, 0, 16, 16);
    const px = g.getImageData(1, 1, 1, 1).data;
    const k = flashFrame(Math.min(px[0], px[1], px[2]));
    const t = meta.expectedDisplayTime || now;
    probe.frames.push(t);
    if (k >= 0 && !probe.lastWhite) {
      probe.white.push(t - k * ${1000 / FPS});
      if (k > 0) probe.placed++;
    }
    probe.lastWhite = k >= 0;
    video.requestVideoFrameCallback(onFrame);
  };
  video.requestVideoFrameCallback(onFrame);
  const ctx = new AudioContext();
  const source = ctx.createMediaStreamSource(new MediaStream(window.likenessStream.getAudioTracks()));
  const proc = ctx.createScriptProcessor(256, 1, 1);
  proc.onaudioprocess = (e) => {
    const data = e.inputBuffer.getChannelData(0);
    // Heard = arrival in the graph + this processor's buffer + the context's own output latency.
    const heardDelay = (256 / ctx.sampleRate + (ctx.baseLatency || 0) + (ctx.outputLatency || 0)) * 1000;
    const arrived = performance.now() + heardDelay;
    for (let i = 0; i < data.length; i++) {
      if (Math.abs(data[i]) > 0.2) {
        const t = arrived - ((data.length - i) / ctx.sampleRate) * 1000;
        if (t - probe.lastBeep > 500) probe.beeps.push(t);
        probe.lastBeep = t;
        break;
      }
    }
  };
  source.connect(proc);
  proc.connect(ctx.destination);
  probe.ctx = ctx;
  // The same beeps timed on the audio thread: context time of the sample, mapped to when the device plays it.
  probe.beepsWorklet = [];
  const worklet = \`registerProcessor('beep-probe', class extends AudioWorkletProcessor {
    constructor() { super(); this.last = -1; }
    process(inputs) {
      const data = inputs[0] && inputs[0][0];
      if (data) for (let i = 0; i < data.length; i++) {
        if (Math.abs(data[i]) > 0.2) {
          const t = currentTime + i / sampleRate;
          if (t - this.last > 0.5) this.port.postMessage(t);
          this.last = t;
          break;
        }
      }
      return true;
    }
  });\`;
  ctx.audioWorklet.addModule(URL.createObjectURL(new Blob([worklet], { type: 'application/javascript' }))).then(() => {
    const node = new AudioWorkletNode(ctx, 'beep-probe');
    node.port.onmessage = (e) => {
      const ts = ctx.getOutputTimestamp();
      probe.beepsWorklet.push(ts.performanceTime + (e.data - ts.contextTime) * 1000);
    };
    source.connect(node);
    node.connect(ctx.destination);
  });
})()`;

/** Pairs each beep with the first white frame near it: when it was heard, and the offset (> 0: picture after sound). */
export function pairBeeps(
  white: number[],
  beeps: number[],
  windowMs = 400,
): { at: number; offset: number }[] {
  const out: { at: number; offset: number }[] = [];
  for (const b of beeps) {
    const w = white.find((x) => Math.abs(x - b) < windowMs);
    if (w !== undefined) out.push({ at: b, offset: w - b });
  }
  return out;
}

/** The offsets alone; > 0 means the picture came after the sound. */
export function pairOffsets(white: number[], beeps: number[], windowMs = 400): number[] {
  return pairBeeps(white, beeps, windowMs).map((p) => p.offset);
}
