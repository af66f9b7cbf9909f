import type * as Rtc from '@livekit/rtc-node';
import type { Logger } from 'pino';
import type { AnimationFrame } from '../animation/blendshapes.ts';
import type { Chunk, MediaEvent, MediaSink } from '../realtime/media-session.ts';
import { FPS, SAMPLE_RATE } from '../realtime/media-session.ts';
import { type PcmFormat, pcmChunks } from '../realtime/pcm-stream.ts';
import { ByteQueue } from './byte-queue.ts';

/** The LiveKit Agents avatar protocol (what a voice agent's DataStreamAudioOutput speaks to its avatar). */
export const AVATAR_PROTOCOL = {
  audioTopic: 'lk.audio_stream',
  clearBuffer: 'lk.clear_buffer',
  playbackFinished: 'lk.playback_finished',
  playbackStarted: 'lk.playback_started',
  publishOnBehalf: 'lk.publish_on_behalf',
} as const;

/** Audio queued inside the LiveKit SDK, ms: small, so what is sent stays within a frame or two of what is heard. */
const AUDIO_QUEUE_MS = 100;
const RPC_TIMEOUT_MS = 2000;
/**
 * What a frame waits beyond the SDK's audio queue. LiveKit (v1.11) gives every track its own stream (msid
 * "participant|track") whatever the publisher asks, so a browser never lip-syncs the avatar's picture with its
 * sound: it shows each frame once decoded (~20-30 ms of jitter buffer) and plays the audio after its own jitter
 * buffer (~50 ms) and the output device. The sender holds the picture for that difference. Measured in Chromium
 * with livekit-client (bench:livekit): the picture led by 33-78 ms before, about -40 ms with Opus framing alone
 * (VIDEO_HOLD_TICKS).
 */
const LIVEKIT_VIDEO_HOLD_MS = 70;
/** Enough for a sharp 512x512 talking head in VP8. */
const VIDEO_MAX_BITRATE = 1_500_000;
const CONNECT_TIMEOUT_MS = 10_000;

/** What the avatar asks of its media session. */
export interface AvatarHost {
  /** Queues an agent's utterance; returns its utterance id. */
  play(label: string, source: (signal: AbortSignal) => AsyncIterable<Chunk>): string;
  interrupt(): void;
  /** The number of participants in the room other than the avatar changed. */
  audienceChanged(count: number): void;
  /** A participant's microphone (16 kHz mono PCM, 10 ms at a time), and its end. */
  hear(source: string, samples: Int16Array, sampleRate: number): void;
  releaseInput(source: string): void;
}

/** The user's microphone is read at the recogniser's rate: the SDK resamples. */
const HEARING_RATE = 16_000;

let rtc: typeof Rtc | undefined;
/** @livekit/rtc-node bundles its own libwebrtc: loaded only when LiveKit is configured. */
async function loadRtc(): Promise<typeof Rtc> {
  rtc ??= await import('@livekit/rtc-node');
  return rtc;
}

let holders = 0;
/**
 * The SDK's native runtime is one per process and keeps the process alive until disposed. Each server that
 * uses LiveKit holds it; the last one to let go (at shutdown, after leaving its rooms) disposes it, so one
 * server closing cannot pull the runtime from under another in the same process.
 */
export function holdLiveKit(): () => Promise<void> {
  holders++;
  let released = false;
  return async () => {
    if (released) return;
    released = true;
    if (--holders > 0 || !rtc) return;
    const lk = rtc;
    rtc = undefined;
    await lk.dispose();
  };
}

/**
 * The character as a participant of a LiveKit room: publishes the session's audio (microphone source) and
 * video (camera source) and speaks the Agents avatar protocol. An agent's `lk.audio_stream` becomes an
 * utterance played at realtime through the same clock as everything else; `lk.clear_buffer` interrupts; each
 * such utterance answers `lk.playback_started` when its first sample goes out and `lk.playback_finished`
 * exactly once, with the seconds actually played.
 */
/** The data topic live frames' blendshapes are published on (JSON: AnimationFrame). */
export const ANIMATION_TOPIC = 'likeness.animation';

export class LiveKitAvatar implements MediaSink {
  private readonly agentUtterances = new Map<string, string>(); // utterance id -> agent identity
  private readonly pendingRpcs = new Set<Promise<void>>();
  private readonly heldFrames = new BufferPool();
  private closed = false;
  onDisconnected: (() => void) | undefined;

  private constructor(
    private readonly lk: typeof Rtc,
    private readonly room: Rtc.Room,
    private readonly audioSource: Rtc.AudioSource,
    private readonly videoSource: Rtc.VideoSource,
    private readonly host: AvatarHost,
    private readonly logger: Logger,
  ) {}

  static async join(opts: {
    url: string;
    token: string;
    size: number;
    host: AvatarHost;
    logger: Logger;
  }): Promise<LiveKitAvatar> {
    const lk = await loadRtc();
    const room = new lk.Room();
    const audioSource = new lk.AudioSource(SAMPLE_RATE, 1, AUDIO_QUEUE_MS);
    const videoSource = new lk.VideoSource(opts.size, opts.size);
    const avatar = new LiveKitAvatar(lk, room, audioSource, videoSource, opts.host, opts.logger);
    room.registerByteStreamHandler(AVATAR_PROTOCOL.audioTopic, (reader, from) =>
      avatar.onAudioStream(reader, from.identity),
    );
    const audience = () => opts.host.audienceChanged(room.remoteParticipants.size);
    // The character hears people's microphones (not agents': an agent that drives this avatar does its own
    // listening, and its voice arrives as lk.audio_stream, never as a microphone).
    const maybeHear = (pub: Rtc.RemoteTrackPublication, who: Rtc.RemoteParticipant) => {
      if (
        pub.kind === lk.TrackKind.KIND_AUDIO &&
        pub.source === lk.TrackSource.SOURCE_MICROPHONE &&
        who.kind !== lk.ParticipantKind.AGENT
      )
        pub.setSubscribed(true);
    };
    room
      .on(lk.RoomEvent.ParticipantConnected, audience)
      .on(lk.RoomEvent.ParticipantDisconnected, (who) => {
        opts.host.releaseInput(who.identity);
        audience();
      })
      .on(lk.RoomEvent.TrackPublished, maybeHear)
      .on(lk.RoomEvent.TrackSubscribed, (track, _pub, who) => {
        if (track.kind === lk.TrackKind.KIND_AUDIO) void avatar.hear(track, who.identity);
      })
      .on(lk.RoomEvent.TrackUnsubscribed, (_track, _pub, who) => opts.host.releaseInput(who.identity))
      .on(lk.RoomEvent.Disconnected, () => {
        if (!avatar.closed) avatar.onDisconnected?.();
      });
    try {
      await withTimeout(
        room.connect(opts.url, opts.token, { autoSubscribe: false, dynacast: false }),
        CONNECT_TIMEOUT_MS,
        'connecting to LiveKit',
      );
      room.localParticipant!.registerRpcMethod(AVATAR_PROTOCOL.clearBuffer, async () => {
        opts.host.interrupt();
        return 'ok';
      });
      // No DTX: between utterances the audio keeps flowing, so receivers keep lip-sync on a continuous clock.
      const audioOpts = new lk.TrackPublishOptions({ source: lk.TrackSource.SOURCE_MICROPHONE, dtx: false });
      // One layer at full size: simulcast would add two encodes per frame and start viewers on a 360p layer.
      const videoOpts = new lk.TrackPublishOptions({
        source: lk.TrackSource.SOURCE_CAMERA,
        simulcast: false,
        videoEncoding: { maxBitrate: BigInt(VIDEO_MAX_BITRATE), maxFramerate: FPS },
      });
      await room.localParticipant!.publishTrack(
        lk.LocalAudioTrack.createAudioTrack('likeness-audio', audioSource),
        audioOpts,
      );
      await room.localParticipant!.publishTrack(
        lk.LocalVideoTrack.createVideoTrack('likeness-video', videoSource),
        videoOpts,
      );
    } catch (err) {
      await avatar.close();
      throw err;
    }
    for (const who of room.remoteParticipants.values())
      for (const pub of who.trackPublications.values()) maybeHear(pub, who);
    audience();
    return avatar;
  }

  /** Reads a participant's microphone into the session's audio input until the track ends. */
  private async hear(track: Rtc.RemoteTrack, identity: string): Promise<void> {
    const stream = new this.lk.AudioStream(track, { sampleRate: HEARING_RATE, numChannels: 1 });
    try {
      for await (const frame of stream as unknown as AsyncIterable<Rtc.AudioFrame>) {
        if (this.closed) break;
        this.host.hear(identity, frame.data, frame.sampleRate);
      }
    } catch (err) {
      this.logger.warn({ err, identity }, 'a participant microphone stream failed');
    } finally {
      this.host.releaseInput(identity);
    }
  }

  get identity(): string {
    return this.room.localParticipant?.identity ?? '';
  }

  audio(samples: Int16Array): void {
    if (this.closed) return;
    const frame = new this.lk.AudioFrame(samples, SAMPLE_RATE, 1, samples.length);
    this.audioSource.captureFrame(frame).catch((err: Error) => {
      if (!this.closed) this.logger.warn({ err: err.message }, 'livekit audio capture failed');
    });
  }

  /**
   * Audio waits in the SDK's queue before it is sent (after a stall of the event loop the queue holds the
   * burst that caught up); video would go at once. Each frame is held for as long as the audio sent with it
   * waits, so both leave together. Measured at a subscriber (bench:livekit), this took the picture from ~70 ms
   * ahead of the sound to ~30 ms; they now wait LIVEKIT_VIDEO_HOLD_MS more (why: see there).
   */
  video(rgba: Uint8Array, size: number): void {
    if (this.closed) return;
    const wait = this.holdMs();
    const held = this.heldFrames.take(rgba); // the session reuses its buffer: keep a copy
    setTimeout(() => {
      if (!this.closed) this.sendVideo(held, size);
      this.heldFrames.give(held);
    }, wait);
  }

  /**
   * Each frame's blendshapes on the data topic `likeness.animation` (lossy: a late frame is worth nothing),
   * held exactly as long as the video frame it belongs to, so a 3D client driving its own face from it stays
   * on the sound it hears from the audio track.
   */
  animation(frame: AnimationFrame): void {
    if (this.closed) return;
    const payload = new TextEncoder().encode(JSON.stringify(frame));
    const send = () =>
      this.room.localParticipant
        ?.publishData(payload, { reliable: false, topic: ANIMATION_TOPIC })
        .catch(() => undefined);
    setTimeout(() => {
      if (!this.closed) void send();
    }, this.holdMs());
  }

  /** How long a frame waits for its audio: the SDK's audio queue, then a browser's way to the ear. */
  private holdMs(): number {
    return this.audioSource.queuedDuration + LIVEKIT_VIDEO_HOLD_MS;
  }

  private sendVideo(rgba: Uint8Array, size: number) {
    // Copied (converted to I420) inside the call, so the buffer may be reused afterwards.
    this.videoSource.captureFrame(new this.lk.VideoFrame(rgba, size, size, this.lk.VideoBufferType.RGBA));
  }

  /** Media-session events: agents learn when their utterances start and finish playing. */
  onMediaEvent(e: MediaEvent): void {
    if (e.type !== 'utterance.started' && e.type !== 'utterance.finished') return;
    const agent = this.agentUtterances.get(e.utterance_id);
    if (!agent) return;
    if (e.type === 'utterance.started') {
      this.rpc(agent, AVATAR_PROTOCOL.playbackStarted, '{}');
      return;
    }
    this.agentUtterances.delete(e.utterance_id);
    this.rpc(
      agent,
      AVATAR_PROTOCOL.playbackFinished,
      JSON.stringify({
        playback_position: e.playback_position_ms / 1000,
        interrupted: e.interrupted,
        synchronized_transcript: null,
      }),
    );
  }

  private onAudioStream(reader: Rtc.ByteStreamReader, agent: string) {
    if (this.closed) return;
    const attrs = reader.info.attributes ?? {};
    const format: PcmFormat = {
      sampleRate: Number(attrs.sample_rate ?? 24_000),
      channels: Number(attrs.num_channels ?? 1),
    };
    // Whatever happens to the utterance, the stream is read to its end: an abandoned reader would leave the
    // SDK pushing into a cancelled stream.
    const bytes = new ByteQueue();
    void (async () => {
      try {
        for await (const piece of reader) bytes.push(piece);
      } catch (err) {
        this.logger.warn({ err: (err as Error).message, agent }, 'agent audio stream failed');
      } finally {
        bytes.end();
      }
    })();
    const valid =
      Number.isInteger(format.sampleRate) &&
      format.sampleRate >= 8000 &&
      format.sampleRate <= 96_000 &&
      (format.channels === 1 || format.channels === 2);
    if (!valid) {
      this.logger.warn({ attrs, agent }, 'agent audio stream with an unusable format: ignored');
      bytes.discard();
      return;
    }
    void this.actFor(agent);
    const id = this.host.play(`agent:${agent}`, (signal) => {
      signal.addEventListener('abort', () => bytes.discard(), { once: true });
      return pcmChunks(bytes, format, signal);
    });
    this.agentUtterances.set(id, agent);
  }

  /** Front ends show the agent's media by `lk.publish_on_behalf`: name the agent whose voice this is. */
  private async actFor(agent: string) {
    const lp = this.room.localParticipant;
    if (!lp || lp.attributes[AVATAR_PROTOCOL.publishOnBehalf] === agent) return;
    await lp.setAttributes({ [AVATAR_PROTOCOL.publishOnBehalf]: agent }).catch(() => undefined);
  }

  private rpc(to: string, method: string, payload: string): void {
    const p = this.send(to, method, payload);
    this.pendingRpcs.add(p);
    void p.finally(() => this.pendingRpcs.delete(p));
  }

  private async send(to: string, method: string, payload: string) {
    try {
      await this.room.localParticipant?.performRpc({
        destinationIdentity: to,
        method,
        payload,
        responseTimeout: RPC_TIMEOUT_MS,
      });
    } catch (err) {
      // playback_started is optional for agents; an agent that left cannot be told anything.
      this.logger.debug({ err: (err as Error).message, method, to }, 'avatar rpc not delivered');
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    // Interrupted utterances were just reported finished: let those answers reach their agents first.
    await withTimeout(Promise.allSettled([...this.pendingRpcs]), 1000, 'delivering playback events').catch(
      () => undefined,
    );
    await withTimeout(this.room.disconnect(), 5000, 'leaving the LiveKit room').catch(() => undefined);
    await this.audioSource.close().catch(() => undefined);
    await this.videoSource.close().catch(() => undefined);
  }
}

/** Frame copies for held video frames, reused (1 MB each at 512x512: not worth garbage at 25 fps). */
class BufferPool {
  private readonly free: Uint8Array[] = [];
  take(from: Uint8Array): Uint8Array {
    const buf = this.free.pop();
    const out = buf && buf.length === from.length ? buf : new Uint8Array(from.length);
    out.set(from);
    return out;
  }
  give(buf: Uint8Array): void {
    if (this.free.length < 8) this.free.push(buf);
  }
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    p,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`timed out ${what}`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}
