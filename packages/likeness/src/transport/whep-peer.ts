import type { MediaSink } from '../realtime/media-session.ts';
import { SAMPLE_RATE, TICKS_PER_FRAME } from '../realtime/media-session.ts';
import { VIDEO_HOLD_TICKS, VideoHold } from './video-hold.ts';
import { type I420Frame, loadWrtc, type PeerConnection, type Track } from './wrtc.ts';

export const ICE_GATHERING_TIMEOUT_MS = 5000;

/**
 * One WHEP viewer (RFC 9725): a peer connection that sends the session's audio and video on one transport.
 * Non-trickle: the answer is returned once ICE gathering has finished, so a plain HTTP POST is the whole
 * signalling. Frames arrive as RGBA and are converted to I420 natively (libyuv inside libwebrtc).
 */
export class WhepPeer implements MediaSink {
  readonly id: string;
  private readonly pc: PeerConnection;
  private readonly tracks: Track[];
  private readonly videoSource;
  private readonly audioSource;
  /** Converted frames waiting for their audio to leave. */
  private readonly held = new VideoHold<I420Frame>({
    holdTicks: VIDEO_HOLD_TICKS,
    ticksPerFrame: TICKS_PER_FRAME,
    send: (frame) => this.videoSource.onFrame(frame),
  });
  private closed = false;
  private readonly sinks: { stop(): void }[] = [];
  onClosed: (() => void) | undefined;
  /**
   * The viewer's microphone, when the offer sends audio (a sendrecv audio m-line): 16-bit mono PCM as it
   * arrives, 10 ms at a time.
   */
  onAudio: ((samples: Int16Array, sampleRate: number) => void) | undefined;

  constructor(id: string) {
    const wrtc = loadWrtc();
    this.id = id;
    this.pc = new wrtc.RTCPeerConnection({ iceServers: [] });
    this.videoSource = new wrtc.nonstandard.RTCVideoSource();
    this.audioSource = new wrtc.nonstandard.RTCAudioSource();
    const video = this.videoSource.createTrack();
    const audio = this.audioSource.createTrack();
    this.tracks = [video, audio];
    const stream = new wrtc.MediaStream([video, audio]);
    this.pc.addTrack(audio, stream);
    this.pc.addTrack(video, stream);
    this.pc.ontrack = ({ track }) => {
      if (track.kind !== 'audio' || this.closed) return;
      const sink = new wrtc.nonstandard.RTCAudioSink(track);
      sink.ondata = (d) => {
        if (!this.closed) this.onAudio?.(toMono(d.samples, d.channelCount), d.sampleRate);
      };
      this.sinks.push(sink);
    };
    this.pc.onconnectionstatechange = () => {
      if (['failed', 'closed', 'disconnected'].includes(this.pc.connectionState)) this.close();
    };
  }

  /** Takes the viewer's SDP offer and returns the complete answer. */
  async answer(offerSdp: string): Promise<string> {
    await this.pc.setRemoteDescription({ type: 'offer', sdp: offerSdp });
    const answer = await this.pc.createAnswer();
    await this.pc.setLocalDescription(answer);
    await new Promise<void>((resolve) => {
      if (this.pc.iceGatheringState === 'complete') return resolve();
      const timer = setTimeout(resolve, ICE_GATHERING_TIMEOUT_MS);
      this.pc.onicegatheringstatechange = () => {
        if (this.pc.iceGatheringState === 'complete') {
          clearTimeout(timer);
          resolve();
        }
      };
    });
    return this.pc.localDescription!.sdp;
  }

  audio(samples: Int16Array, tick: number): void {
    if (this.closed) return;
    this.audioSource.onData({
      samples,
      sampleRate: SAMPLE_RATE,
      bitsPerSample: 16,
      channelCount: 1,
      numberOfFrames: samples.length,
    });
    this.held.tick(tick);
  }

  /**
   * Converts the frame now (the caller reuses its buffer) and sends it with the audio tick VIDEO_HOLD_TICKS after
   * its own, whether it was drawn before that tick's audio went out (in the loop) or after (a render thread).
   */
  video(rgba: Uint8Array, size: number, n: number): void {
    if (this.closed) return;
    let frame = this.held.take();
    if (frame?.width !== size)
      frame = { width: size, height: size, data: new Uint8ClampedArray((size * size * 3) / 2) };
    loadWrtc().nonstandard.rgbaToI420(
      {
        width: size,
        height: size,
        data: new Uint8ClampedArray(rgba.buffer, rgba.byteOffset, rgba.byteLength),
      },
      frame,
    );
    this.held.push(frame, n);
  }

  get state(): string {
    return this.pc.connectionState;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const s of this.sinks) s.stop();
    for (const t of this.tracks) t.stop();
    this.pc.close();
    this.onClosed?.();
  }
}

function toMono(samples: Int16Array, channels: number): Int16Array {
  if (channels <= 1) return samples;
  const out = new Int16Array(Math.floor(samples.length / channels));
  for (let i = 0; i < out.length; i++) {
    let sum = 0;
    for (let c = 0; c < channels; c++) sum += samples[i * channels + c]!;
    out[i] = sum / channels;
  }
  return out;
}
