import type { Logger } from 'pino';
import type { LiveKitConfig } from '../config.ts';
import { Problem } from '../errors.ts';
import { newId } from '../ids.ts';
import type { Mood } from '../persona/persona.ts';
import type { Identity } from '../registration/identity.ts';
import { holdLiveKit, LiveKitAvatar } from '../transport/livekit-avatar.ts';
import { avatarToken } from '../transport/livekit-tokens.ts';
import { WhepPeer } from '../transport/whep-peer.ts';
import {
  type FrameSource,
  type MediaEvent,
  RealtimeMediaSession,
  type Synthesizer,
} from './media-session.ts';

/** What a live media session is made of; built by the session layer, which knows characters and voices. */
export interface LiveMediaSpec {
  identity: Identity;
  frames: FrameSource;
  synthesize: Synthesizer;
  mood: Mood;
  seed: number;
}

/**
 * The media of one live session in this process: its clock (RealtimeMediaSession) and the transports that
 * carry it (WHEP peers, a LiveKit avatar). Knows nothing of tenants, keys or billing: the session layer
 * (sessions/live-sessions.ts) has checked all of that before it calls here.
 */
export class LiveMedia {
  readonly peers = new Map<string, WhepPeer>();
  /** WHEP offers being answered: they hold a viewer slot, so racing offers cannot exceed the limit. */
  private pendingPeers = 0;
  private avatar: Promise<LiveKitAvatar> | undefined;
  private livekitAudience = 0;
  closed = false;
  /** Called when anyone starts or stops watching (WHEP or LiveKit). */
  onAudience: ((viewers: number) => void) | undefined;
  /** The audio input port: where the user's microphone goes (the conversation's listener), once set. */
  private inputSink: ((samples: Int16Array, sampleRate: number) => void) | undefined;
  /** The one transport whose microphone is heard: the first to send audio, until it leaves. */
  private microphone: string | undefined;
  private inputStarted = false;
  /** Called once, when a microphone first sends audio: the session layer starts listening then. */
  onInputStarted: (() => void) | undefined;

  constructor(
    readonly id: string,
    readonly media: RealtimeMediaSession,
    private readonly host: LocalMediaHost,
  ) {}

  /** People receiving media now: WHEP viewers plus the LiveKit room's audience. */
  get viewers(): number {
    return this.peers.size + this.livekitAudience;
  }

  /** Counts against the process's capacity: someone watches, or is being connected. */
  get engaged(): boolean {
    return this.viewers > 0 || this.pendingPeers > 0;
  }

  /** Answers a WHEP offer. `maxViewers` counts viewers already connected and offers still being answered. */
  async connectWhep(offerSdp: string, maxViewers: number): Promise<{ peerId: string; answer: string }> {
    if (this.peers.size + this.pendingPeers >= maxViewers) {
      throw new Problem('too-many-sessions', `A session takes at most ${maxViewers} viewers.`, {
        limit: maxViewers,
        retry_after_s: 10,
      });
    }
    this.host.admitViewer(this);
    this.pendingPeers++;
    const peer = new WhepPeer(newId('whep'));
    let answer: string;
    try {
      answer = await peer.answer(offerSdp);
    } catch (err) {
      peer.close();
      throw new Problem('validation-error', `The SDP offer could not be used: ${(err as Error).message}`);
    } finally {
      this.pendingPeers--;
    }
    if (this.closed) {
      peer.close();
      throw new Problem('session-not-live', 'The session ended while the connection was being set up.');
    }
    this.peers.set(peer.id, peer);
    const detach = this.media.attach(peer);
    peer.onAudio = (samples, rate) => this.input(peer.id, samples, rate);
    peer.onClosed = () => {
      detach();
      this.releaseInput(peer.id);
      this.peers.delete(peer.id);
      this.onAudience?.(this.viewers);
    };
    this.onAudience?.(this.viewers);
    return { peerId: peer.id, answer };
  }

  /** The user's audio from a transport. One microphone at a time is heard; the others are ignored. */
  input(source: string, samples: Int16Array, sampleRate: number): void {
    if (this.closed) return;
    if (this.microphone === undefined) {
      this.microphone = source;
      if (!this.inputStarted) {
        this.inputStarted = true;
        this.onInputStarted?.();
      }
    }
    if (this.microphone === source) this.inputSink?.(samples, sampleRate);
  }

  /** A transport's microphone is gone: the next one to send audio is heard. */
  releaseInput(source: string): void {
    if (this.microphone === source) this.microphone = undefined;
  }

  /** Sets where the user's audio goes. */
  listen(sink: ((samples: Int16Array, sampleRate: number) => void) | undefined): void {
    this.inputSink = sink;
  }

  disconnectWhep(peerId: string): boolean {
    const peer = this.peers.get(peerId);
    peer?.close();
    return peer !== undefined;
  }

  /** Puts the character in the session's LiveKit room (once). */
  async joinLiveKit(cfg: LiveKitConfig, size: number, logger: Logger): Promise<void> {
    if (!this.avatar) this.host.admitViewer(this);
    this.avatar ??= this.join(cfg, size, logger);
    try {
      await this.avatar;
    } catch (err) {
      this.avatar = undefined;
      throw err;
    }
  }

  private async join(cfg: LiveKitConfig, size: number, logger: Logger): Promise<LiveKitAvatar> {
    let detach: (() => void) | undefined;
    const avatar = await LiveKitAvatar.join({
      url: cfg.url,
      token: await avatarToken(cfg, this.id),
      size,
      logger,
      host: {
        play: (label, source) => this.media.play(label, source),
        interrupt: () => this.media.interrupt(),
        hear: (source, samples, rate) => this.input(`livekit:${source}`, samples, rate),
        releaseInput: (source) => this.releaseInput(`livekit:${source}`),
        audienceChanged: (count) => {
          this.livekitAudience = count;
          if (count > 0 && !detach) {
            // Video and audio tracks, and each frame's blendshapes on the data topic for 3D clients.
            const video = this.media.attach(avatar);
            const animation = this.media.onAnimationFrame((frame) => avatar.animation(frame));
            detach = () => {
              video();
              animation();
            };
          } else if (count === 0 && detach) {
            detach();
            detach = undefined;
          }
          this.onAudience?.(this.viewers);
        },
      },
    });
    const onEvent = (e: MediaEvent) => avatar.onMediaEvent(e);
    this.media.on('event', onEvent);
    avatar.onDisconnected = () => {
      // The server dropped us (restart, room closed): stop sending; the next token request joins again.
      detach?.();
      detach = undefined;
      this.livekitAudience = 0;
      this.media.off('event', onEvent);
      this.avatar = undefined;
      void avatar.close();
      this.onAudience?.(this.viewers);
    };
    return avatar;
  }

  async close(): Promise<void> {
    this.closed = true;
    this.media.close();
    for (const peer of this.peers.values()) peer.close();
    const avatar = await this.avatar?.catch(() => undefined);
    await avatar?.close();
  }
}

export interface MediaHostOptions {
  /**
   * Live sessions this process can render and encode at full rate (sessions with at least one viewer). A new
   * viewer of one more session is refused with 429 server-busy. Measured with `npm run bench:capacity`.
   */
  maxViewedSessions: number;
  /** Whether LiveKit is configured: the process then holds the LiveKit runtime until closed. */
  livekit: boolean;
}

/**
 * Media host: opens, finds and closes live media sessions by id, in this process. The seam between session
 * policy and media: today it lives in the API process; a worker process behind the same three calls would
 * change nothing above it.
 */
export class LocalMediaHost {
  private readonly live = new Map<string, LiveMedia>();
  private readonly opening = new Map<string, Promise<LiveMedia>>();
  private releaseLiveKit: (() => Promise<void>) | undefined;
  /** Every live session's media events (metrics). */
  onEvent: ((sessionId: string, e: MediaEvent) => void) | undefined;

  constructor(private readonly opts: MediaHostOptions) {
    if (opts.livekit) this.releaseLiveKit = holdLiveKit();
  }

  get count(): number {
    return this.live.size;
  }

  /** People watching, over every session (WHEP peers and LiveKit participants). */
  get viewerCount(): number {
    return [...this.live.values()].reduce((n, l) => n + l.viewers, 0);
  }

  /** Sessions somebody is watching (or connecting to) now. */
  get viewedCount(): number {
    return [...this.live.values()].filter((l) => l.engaged).length;
  }

  get capacity(): number {
    return this.opts.maxViewedSessions;
  }

  get(id: string): LiveMedia | undefined {
    return this.live.get(id);
  }

  /** The session's live media, created from `spec` on first use (once, however many callers race). */
  async open(id: string, spec: () => Promise<LiveMediaSpec>): Promise<LiveMedia> {
    const existing = this.live.get(id);
    if (existing) return existing;
    let pending = this.opening.get(id);
    if (!pending) {
      pending = (async () => {
        const s = await spec();
        const live = new LiveMedia(id, new RealtimeMediaSession(s), this);
        live.media.on('event', (e) => this.onEvent?.(id, e));
        this.live.set(id, live);
        return live;
      })().finally(() => this.opening.delete(id));
      this.opening.set(id, pending);
    }
    return pending;
  }

  /** Refuses a first viewer for one more session when the process is at capacity. */
  admitViewer(live: LiveMedia): void {
    if (live.engaged) return;
    if (this.viewedCount >= this.opts.maxViewedSessions) {
      throw new Problem(
        'server-busy',
        `This server is streaming ${this.viewedCount} live sessions, its capacity (LIKENESS_MAX_LIVE_SESSIONS). Try again shortly or use another node.`,
        { retry_after_s: 10, capacity: this.opts.maxViewedSessions },
      );
    }
  }

  /** Stops a session's media and its transports. Returns it (for a last metering), or undefined. */
  async close(id: string): Promise<LiveMedia | undefined> {
    const live = this.live.get(id) ?? (await this.opening.get(id)?.catch(() => undefined));
    if (!live || live.closed) return undefined;
    this.live.delete(id);
    await live.close();
    return live;
  }

  async closeAll(): Promise<void> {
    await Promise.all([...this.live.keys()].map((id) => this.close(id)));
    await this.releaseLiveKit?.();
    this.releaseLiveKit = undefined;
  }
}
