/// <reference lib="dom" />
import type { Page } from 'playwright-core';

/**
 * A user in Chromium with a microphone: the page opens a WHEP connection whose offer sends audio (a sendrecv
 * audio m-line) and receives the character's audio and video. The "microphone" is WebAudio: `say(pcm)` plays
 * 16 kHz PCM into the outgoing track, so a test decides exactly when the user speaks and stops. The page also
 * watches the character's audio and notes (performance.now) when it turns audible (peak over -40 dBFS), loud
 * (over -26 dBFS) or quiet. Speech starts soft: a Flite "I" takes 40-170 ms from audible to loud.
 */
const MIC_SCRIPT = /* js */ `async ({ base, sessionId, key }) => {
      const w = window;
      const ctx = new AudioContext({ sampleRate: 48_000 });
      await ctx.resume();
      const dest = ctx.createMediaStreamDestination();
      const pc = new RTCPeerConnection();
      pc.addTransceiver(dest.stream.getAudioTracks()[0], { direction: 'sendrecv' });
      pc.addTransceiver('video', { direction: 'recvonly' });
      const state = { lastLoud: 0, marks: [] };
      pc.ontrack = (e) => {
        if (e.track.kind !== 'audio') return;
        // The received audio must be consumed by an element for Chromium to decode it.
        const el = new Audio();
        el.srcObject = new MediaStream([e.track]);
        el.muted = true;
        void el.play();
        const src = ctx.createMediaStreamSource(new MediaStream([e.track]));
        const analyser = ctx.createAnalyser();
        analyser.fftSize = 512;
        src.connect(analyser);
        const buf = new Float32Array(analyser.fftSize);
        const poll = () => {
          analyser.getFloatTimeDomainData(buf);
          let peak = 0;
          for (const v of buf) peak = Math.max(peak, Math.abs(v));
          const now = performance.now();
          if (peak > 0.05) {
            state.lastLoud = now;
            for (const m of state.marks) if (m.at === null && now >= m.since) m.at = now;
          }
          for (const m of state.marks) {
            if (now < m.since) continue;
            if (peak > 0.01) m.audible ??= now;
            // The floor: what silence looks like here, in the first 300 ms after the mark (no answer yet).
            if (now < m.since + 300) m.floor = Math.max(m.floor ?? 0, peak);
          }
          setTimeout(poll, 5);
        };
        poll();
      };
      await pc.setLocalDescription(await pc.createOffer());
      await new Promise((resolve) => {
        if (pc.iceGatheringState === 'complete') return resolve();
        pc.onicegatheringstatechange = () => pc.iceGatheringState === 'complete' && resolve();
      });
      const res = await fetch(\`\${base}/v1/sessions/\${sessionId}/whep\`, {
        method: 'POST',
        headers: { authorization: \`Bearer \${key}\`, 'content-type': 'application/sdp' },
        body: pc.localDescription.sdp,
      });
      if (res.status !== 201) throw new Error(\`WHEP \${res.status}: \${await res.text()}\`);
      await pc.setRemoteDescription({ type: 'answer', sdp: await res.text() });
      await new Promise((resolve, reject) => {
        const t = setTimeout(() => reject(new Error('not connected')), 10_000);
        const check = () => {
          if (pc.connectionState === 'connected') {
            clearTimeout(t);
            resolve();
          } else setTimeout(check, 20);
        };
        check();
      });
      w.mic = {
        pc,
        state,
        say: (b64) =>
          new Promise((resolve) => {
            const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
            const pcm = new Int16Array(bytes.buffer);
            const buffer = ctx.createBuffer(1, pcm.length, 16_000);
            const data = buffer.getChannelData(0);
            for (let i = 0; i < pcm.length; i++) data[i] = pcm[i] / 32768;
            const node = ctx.createBufferSource();
            node.buffer = buffer;
            node.connect(dest);
            const startedAt = performance.now();
            node.onended = () => resolve({ startedAt, endedAt: performance.now() });
            node.start();
          }),
      };
    }`;

export async function openMicPage(
  page: Page,
  base: string,
  sessionId: string,
  key: string,
): Promise<{
  say(pcm: Int16Array): Promise<{ startedAt: number; endedAt: number }>;
  /**
   * Page time when the character's audio was last loud, and, for each mark, when it first turned loud and
   * audible after `since`, and the loudest peak of the silence in the 300 ms after it.
   */
  loudness(): Promise<{
    now: number;
    lastLoud: number;
    loudSince: (number | null)[];
    audibleSince: (number | null)[];
    floorPeaks: number[];
    timeOrigin: number;
  }>;
  markLoud(since: number): Promise<void>;
  /** Chromium's receive side so far, from getStats: mean audio jitter-buffer delay and packet length (ms). */
  receiveStats(): Promise<{ audioJitterBufferMs: number | null; audioPacketMs: number | null }>;
  close(): Promise<void>;
}> {
  await page.goto(`${base}/healthz`);
  // A string, not a function: the TypeScript loader would add helpers to a function that the page lacks.
  await page.evaluate(`(${MIC_SCRIPT})(${JSON.stringify({ base, sessionId, key })})`);
  return {
    say: (pcm) =>
      page.evaluate(
        (b64) =>
          (
            window as unknown as { mic: { say(b: string): Promise<{ startedAt: number; endedAt: number }> } }
          ).mic.say(b64),
        Buffer.from(pcm.buffer, pcm.byteOffset, pcm.byteLength).toString('base64'),
      ),
    markLoud: (since) =>
      page.evaluate((since) => {
        (window as unknown as { mic: { state: { marks: unknown[] } } }).mic.state.marks.push({
          since,
          at: null,
          audible: null,
          floor: 0,
        });
      }, since),
    loudness: () =>
      page.evaluate(() => {
        const s = (
          window as unknown as {
            mic: {
              state: {
                lastLoud: number;
                marks: { at: number | null; audible: number | null; floor: number }[];
              };
            };
          }
        ).mic.state;
        return {
          now: performance.now(),
          lastLoud: s.lastLoud,
          loudSince: s.marks.map((m) => m.at),
          audibleSince: s.marks.map((m) => m.audible),
          floorPeaks: s.marks.map((m) => m.floor),
          // Page times to the epoch: to compare with another process's clock on the same machine.
          timeOrigin: performance.timeOrigin,
        };
      }),
    receiveStats: () =>
      page.evaluate(async () => {
        const stats = await (window as unknown as { mic: { pc: RTCPeerConnection } }).mic.pc.getStats();
        let audioJitterBufferMs: number | null = null;
        let audioPacketMs: number | null = null;
        stats.forEach(
          (r: {
            type: string;
            kind?: string;
            jitterBufferDelay?: number;
            jitterBufferEmittedCount?: number;
            packetsReceived?: number;
            totalSamplesReceived?: number;
            concealedSamples?: number;
          }) => {
            if (r.type !== 'inbound-rtp' || r.kind !== 'audio') return;
            if (r.jitterBufferEmittedCount)
              audioJitterBufferMs = ((r.jitterBufferDelay ?? 0) / r.jitterBufferEmittedCount) * 1000;
            if (r.packetsReceived)
              audioPacketMs =
                ((r.totalSamplesReceived ?? 0) - (r.concealedSamples ?? 0)) / 48 / r.packetsReceived;
          },
        );
        return { audioJitterBufferMs, audioPacketMs };
      }),
    close: () =>
      page.evaluate(() => (window as unknown as { mic: { pc: RTCPeerConnection } }).mic.pc.close()),
  };
}
