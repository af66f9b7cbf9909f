import { createRequire } from 'node:module';

/**
 * @roamhq/wrtc (libwebrtc, prebuilt in the npm package), loaded only when a realtime connection needs it:
 * a process that has loaded it must leave through process.exit (its native teardown crashes otherwise), so
 * servers and tests that never go realtime should not load it at all.
 */
export interface Wrtc {
  RTCPeerConnection: new (config?: unknown) => PeerConnection;
  MediaStream: new (tracks?: unknown[]) => unknown;
  nonstandard: {
    RTCVideoSource: new () => { createTrack(): Track; onFrame(frame: I420Frame): void };
    RTCAudioSource: new () => {
      createTrack(): Track;
      onData(data: {
        samples: Int16Array;
        sampleRate: number;
        bitsPerSample: 16;
        channelCount: 1;
        numberOfFrames: number;
      }): void;
    };
    rgbaToI420(src: { width: number; height: number; data: Uint8ClampedArray }, dst: I420Frame): void;
    /** Receives a remote audio track's PCM (10 ms pieces, 16-bit). */
    RTCAudioSink: new (
      track: Track,
    ) => {
      ondata:
        | ((data: {
            samples: Int16Array;
            sampleRate: number;
            channelCount: number;
            numberOfFrames: number;
          }) => void)
        | null;
      stop(): void;
    };
  };
}
export interface Track {
  stop(): void;
  kind: string;
}
export interface I420Frame {
  width: number;
  height: number;
  data: Uint8ClampedArray;
}
export interface PeerConnection {
  addTrack(track: Track, stream: unknown): unknown;
  setRemoteDescription(d: { type: string; sdp: string }): Promise<void>;
  createAnswer(): Promise<{ type: string; sdp: string }>;
  setLocalDescription(d: { type: string; sdp: string }): Promise<void>;
  localDescription: { type: string; sdp: string } | null;
  iceGatheringState: string;
  connectionState: string;
  onicegatheringstatechange: (() => void) | null;
  onconnectionstatechange: (() => void) | null;
  ontrack: ((event: { track: Track }) => void) | null;
  close(): void;
}

let loaded: Wrtc | undefined;
export function loadWrtc(): Wrtc {
  if (!loaded) {
    loaded = createRequire(import.meta.url)('@roamhq/wrtc') as Wrtc;
    // libwebrtc's native teardown segfaults when the process ends by draining its event loop; leaving through
    // process.exit skips it. Only processes that loaded it (realtime servers, their tests) take this path.
    process.once('beforeExit', (code) => process.exit(process.exitCode ?? code));
  }
  return loaded;
}

export function wrtcLoaded(): boolean {
  return loaded !== undefined;
}
