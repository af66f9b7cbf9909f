import { loadWrtc } from '../../src/transport/wrtc.ts';

interface Sink {
  stop(): void;
  onframe?: () => void;
  ondata?: (d: { samples: Int16Array }) => void;
}

/** A WHEP viewer in Node (libwebrtc via @roamhq/wrtc): for tests and benchmarks that need many viewers. */
export async function connectWhep(
  baseUrl: string,
  whepUrl: string,
  token: string,
  opts: { decode?: boolean } = {},
) {
  const wrtc = loadWrtc() as unknown as {
    RTCPeerConnection: new () => {
      addTransceiver(kind: string, o: unknown): void;
      createOffer(): Promise<{ type: string; sdp: string }>;
      setLocalDescription(d: unknown): Promise<void>;
      setRemoteDescription(d: unknown): Promise<void>;
      localDescription: { sdp: string };
      iceGatheringState: string;
      onicegatheringstatechange: (() => void) | null;
      ontrack: ((e: { track: { kind: string } }) => void) | null;
      close(): void;
      getStats(): Promise<
        Map<string, { type: string; kind?: string; framesReceived?: number; packetsReceived?: number }>
      >;
    };
    nonstandard: { RTCVideoSink: new (t: unknown) => Sink; RTCAudioSink: new (t: unknown) => Sink };
  };
  const pc = new wrtc.RTCPeerConnection();
  const stats = { frames: 0, audioFrames: 0, loudAudioFrames: 0, frameTimes: [] as number[] };
  const sinks: Sink[] = [];
  pc.ontrack = (e) => {
    if (opts.decode === false) return; // count frames from RTP stats only (no decoding cost in this process)
    if (e.track.kind === 'video') {
      const sink = new wrtc.nonstandard.RTCVideoSink(e.track);
      sink.onframe = () => {
        stats.frames++;
        stats.frameTimes.push(performance.now());
      };
      sinks.push(sink);
    } else {
      const sink = new wrtc.nonstandard.RTCAudioSink(e.track);
      sink.ondata = (d) => {
        stats.audioFrames++;
        if (d.samples.some((x) => Math.abs(x) > 1000)) stats.loudAudioFrames++;
      };
      sinks.push(sink);
    }
  };
  pc.addTransceiver('video', { direction: 'recvonly' });
  pc.addTransceiver('audio', { direction: 'recvonly' });
  await pc.setLocalDescription(await pc.createOffer());
  await new Promise<void>((resolve) => {
    if (pc.iceGatheringState === 'complete') return resolve();
    pc.onicegatheringstatechange = () => pc.iceGatheringState === 'complete' && resolve();
  });
  const res = await fetch(new URL(whepUrl, baseUrl), {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/sdp' },
    body: pc.localDescription.sdp,
  });
  if (res.status !== 201) {
    for (const s of sinks) s.stop();
    pc.close(); // an open peer connection keeps libwebrtc's threads (and this process) alive
    throw new Error(`WHEP ${res.status}: ${await res.text()}`);
  }
  await pc.setRemoteDescription({ type: 'answer', sdp: await res.text() });
  return {
    stats,
    resource: res.headers.get('location')!,
    /** Video frames received per RTP statistics (works without decoding). */
    async framesReceived(): Promise<number> {
      let n = 0;
      (await pc.getStats()).forEach((s) => {
        if (s.type === 'inbound-rtp' && s.kind === 'video') n = s.framesReceived ?? 0;
      });
      return n;
    },
    close() {
      for (const s of sinks) s.stop();
      pc.close();
    },
  };
}
