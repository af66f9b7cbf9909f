import { seedFrom } from '../animation/random.ts';
import { Problem } from '../errors.ts';
import { newId } from '../ids.ts';
import type { Mood } from '../persona/persona.ts';
import type { PortraitRenderer } from '../render/renderer.ts';
import type { Services } from '../services.ts';
import { isLive } from '../sessions/lifecycle.ts';
import type { VoiceRef } from '../speech/voice-catalog.ts';
import { holdLiveKit, LiveKitAvatar } from '../transport/livekit-avatar.ts';
import { avatarIdentityFor, avatarToken, roomFor, viewerToken } from '../transport/livekit-tokens.ts';
import { WhepPeer } from '../transport/whep-peer.ts';
import {
  type FrameSource,
  type MediaEvent,
  RealtimeMediaSession,
  speechSynthesizer,
} from './media-session.ts';
import { beepSynthesizer, TEST_CARD_SLUG, TestCardFrames } from './test-card.ts';

const METER_INTERVAL_MS = 5000;

/** One frame buffer per session, drawn over every frame: sinks consume pixels synchronously (MediaSink). */
function reusingFrames(renderer: PortraitRenderer): FrameSource {
  const out = new Uint8Array(renderer.size * renderer.size * 4);
  return { size: renderer.size, render: (p) => renderer.render(p, out) };
}
export const MAX_VIEWERS_PER_SESSION = 4;

interface Live {
  tenantId: string;
  media: RealtimeMediaSession;
  peers: Map<string, WhepPeer>;
  meter: NodeJS.Timeout;
  characterId: string;
  /** The character in the session's LiveKit room, once a LiveKit token has been asked for. */
  avatar?: Promise<LiveKitAvatar>;
}

export interface LiveKitAccess {
  url: string;
  room: string;
  token: string;
  identity: string;
  avatar_identity: string;
}

/**
 * Realtime sessions in this process: one media session per API session, created on first use, torn down
 * when the session ends or expires (DELETE, idle timeout, max duration) with its peers and timers. Media
 * seconds are metered while someone watches; metering also counts as activity, so a watched session does not
 * go idle.
 */
export class RealtimeService {
  private readonly live = new Map<string, Live>();
  private readonly creating = new Map<string, Promise<Live>>();
  /** Held from start when LiveKit is configured: lets go of the SDK's runtime at shutdown. */
  private releaseLiveKit: (() => Promise<void>) | undefined;

  constructor(private readonly services: () => Services) {}

  /** Called once at start: ends media when the session ends, whatever ended it. */
  listen(): void {
    if (this.services().config.livekit) this.releaseLiveKit = holdLiveKit();
    this.services().sessions.on('transition', (e) => {
      if (e.to === 'ended' || e.to === 'expired') void this.teardown(e.session.id);
    });
  }

  get activeCount(): number {
    return this.live.size;
  }

  private async session(tenantId: string, sessionId: string) {
    const s = await this.services().sessions.get(tenantId, sessionId);
    if (!isLive(s.status)) {
      throw new Problem(
        'session-not-live',
        `Session ${sessionId} is ${s.status} (${s.end_reason}); start a new session.`,
        { session_status: s.status },
      );
    }
    if (s.mode !== 'realtime') {
      throw new Problem(
        'wrong-session-mode',
        `Session ${sessionId} is an on_demand session; use /generate, or open a realtime session.`,
      );
    }
    return s;
  }

  private async ensure(tenantId: string, sessionId: string): Promise<Live> {
    const existing = this.live.get(sessionId);
    if (existing) return existing;
    let pending = this.creating.get(sessionId);
    if (!pending) {
      pending = (async () => {
        const svc = this.services();
        const s = await this.session(tenantId, sessionId);
        const character = await svc.characters.get(tenantId, s.character_id);
        const identity = await svc.registrar.load(character.identity.id);
        const renderer = await svc.renders.renderer(identity.id, svc.config.limits.portraitSize);
        // The test card runs through the same clock, queue and transports; only its pictures and sound differ.
        const testCard = character.slug === TEST_CARD_SLUG;
        const media = new RealtimeMediaSession({
          identity,
          frames: testCard ? new TestCardFrames(renderer.size) : reusingFrames(renderer),
          synthesize: testCard ? beepSynthesizer : speechSynthesizer(svc.speech),
          mood: character.persona.mood,
          seed: seedFrom(`${identity.id}\u0000${sessionId}`),
        });
        const live: Live = {
          tenantId,
          media,
          peers: new Map(),
          characterId: character.id,
          meter: undefined as never,
        };
        live.meter = setInterval(() => void this.meter(sessionId, live), METER_INTERVAL_MS);
        live.meter.unref();
        this.live.set(sessionId, live);
        return live;
      })().finally(() => this.creating.delete(sessionId));
      this.creating.set(sessionId, pending);
    }
    return pending;
  }

  async connectWhep(
    tenantId: string,
    sessionId: string,
    offerSdp: string,
  ): Promise<{ peerId: string; answer: string }> {
    if (!offerSdp.startsWith('v=0'))
      throw new Problem('validation-error', 'The body must be an SDP offer (application/sdp).');
    const live = await this.ensure(tenantId, sessionId);
    if (live.peers.size >= MAX_VIEWERS_PER_SESSION) {
      throw new Problem('too-many-sessions', `A session takes at most ${MAX_VIEWERS_PER_SESSION} viewers.`, {
        limit: MAX_VIEWERS_PER_SESSION,
      });
    }
    const peer = new WhepPeer(newId('whep'));
    let answer: string;
    try {
      answer = await peer.answer(offerSdp);
    } catch (err) {
      peer.close();
      throw new Problem('validation-error', `The SDP offer could not be used: ${(err as Error).message}`);
    }
    live.peers.set(peer.id, peer);
    const detach = live.media.attach(peer);
    peer.onClosed = () => {
      detach();
      live.peers.delete(peer.id);
    };
    await this.services().sessions.touch(tenantId, sessionId); // first connection makes the session active
    return { peerId: peer.id, answer };
  }

  /**
   * LiveKit: puts the character in the session's room (once) and returns a join token for an end user. The
   * avatar sends media while anyone else is in the room; the first participant to join makes the session
   * active, as a WHEP connection does.
   */
  async connectLiveKit(tenantId: string, sessionId: string, tokenTtlS: number): Promise<LiveKitAccess> {
    const svc = this.services();
    const cfg = svc.config.livekit;
    if (!cfg) throw new Error('LiveKit is not configured');
    const live = await this.ensure(tenantId, sessionId);
    live.avatar ??= this.joinRoom(tenantId, sessionId, live);
    try {
      await live.avatar;
    } catch (err) {
      live.avatar = undefined;
      throw new Problem('livekit-unavailable', `Could not join ${cfg.url}: ${(err as Error).message}`);
    }
    const viewer = await viewerToken(cfg, sessionId, tokenTtlS);
    return {
      url: cfg.url,
      room: roomFor(sessionId),
      token: viewer.token,
      identity: viewer.identity,
      avatar_identity: avatarIdentityFor(sessionId),
    };
  }

  private async joinRoom(tenantId: string, sessionId: string, live: Live): Promise<LiveKitAvatar> {
    const svc = this.services();
    let detach: (() => void) | undefined;
    const avatar = await LiveKitAvatar.join({
      url: svc.config.livekit!.url,
      token: await avatarToken(svc.config.livekit!, sessionId),
      size: svc.config.limits.portraitSize,
      logger: svc.logger,
      host: {
        play: (label, source) => live.media.play(label, source),
        interrupt: () => live.media.interrupt(),
        audienceChanged: (count) => {
          if (count > 0 && !detach) {
            detach = live.media.attach(avatar);
            void svc.sessions.touch(tenantId, sessionId).catch(() => undefined);
          } else if (count === 0 && detach) {
            detach();
            detach = undefined;
          }
        },
      },
    });
    const onEvent = (e: MediaEvent) => avatar.onMediaEvent(e);
    live.media.on('event', onEvent);
    avatar.onDisconnected = () => {
      // The server dropped us (restart, room closed): stop sending; the next token request joins again.
      detach?.();
      detach = undefined;
      live.media.off('event', onEvent);
      live.avatar = undefined;
      void avatar.close();
    };
    return avatar;
  }

  async disconnect(tenantId: string, sessionId: string, peerId: string): Promise<void> {
    const live = this.live.get(sessionId);
    const peer = live?.tenantId === tenantId ? live.peers.get(peerId) : undefined;
    if (!peer) throw new Problem('not-found', `No WHEP resource ${peerId} on session ${sessionId}.`);
    peer.close();
  }

  async speak(
    tenantId: string,
    sessionId: string,
    req: { text: string; voice?: VoiceRef | undefined; mood?: Mood | undefined },
  ): Promise<string> {
    const svc = this.services();
    const s = await this.session(tenantId, sessionId);
    const character = await svc.characters.get(tenantId, s.character_id);
    const voice = req.voice ?? character.voice;
    svc.speech.prepare(req.text, voice, { maxChars: svc.config.limits.maxTextChars });
    const live = await this.ensure(tenantId, sessionId);
    await svc.sessions.touch(tenantId, sessionId);
    return live.media.speak(req.text, { voice, ...(req.mood ? { mood: req.mood } : {}) });
  }

  async interrupt(tenantId: string, sessionId: string): Promise<number> {
    await this.session(tenantId, sessionId);
    return this.live.get(sessionId)?.media.interrupt() ?? 0;
  }

  /** Subscribes to a session's media events; returns the unsubscribe function. */
  async subscribe(
    tenantId: string,
    sessionId: string,
    listener: (e: MediaEvent) => void,
  ): Promise<() => void> {
    const live = await this.ensure(tenantId, sessionId);
    live.media.on('event', listener);
    return () => live.media.off('event', listener);
  }

  private async meter(sessionId: string, live: Live, final = false): Promise<void> {
    const seconds = live.media.unmeteredSeconds;
    if (seconds <= 0 && (final || live.peers.size === 0)) return;
    live.media.unmeteredSeconds = 0;
    try {
      await this.services().usage.record({
        tenantId: live.tenantId,
        sessionId,
        mediaSeconds: seconds,
        kind: 'realtime',
        final,
      });
    } catch {
      // The session ended between ticks: its teardown flushes with final = true.
    }
  }

  async teardown(sessionId: string): Promise<void> {
    const live = this.live.get(sessionId) ?? (await this.creating.get(sessionId)?.catch(() => undefined));
    if (!live) return;
    this.live.delete(sessionId);
    clearInterval(live.meter);
    live.media.close();
    for (const peer of live.peers.values()) peer.close();
    const avatar = await live.avatar?.catch(() => undefined);
    await avatar?.close();
    await this.meter(sessionId, live, true);
  }

  async closeAll(): Promise<void> {
    await Promise.all([...this.live.keys()].map((id) => this.teardown(id)));
    await this.releaseLiveKit?.();
    this.releaseLiveKit = undefined;
  }
}
