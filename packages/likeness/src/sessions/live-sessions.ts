import type { Logger } from 'pino';
import type { AnimationFrame } from '../animation/blendshapes.ts';
import { seedFrom } from '../animation/random.ts';
import type { CharacterService } from '../characters/character-service.ts';
import type { Config } from '../config.ts';
import type { ReplyOutput, Spoken } from '../conversation/agent.ts';
import { Problem } from '../errors.ts';
import type { Mood } from '../persona/persona.ts';
import type { LiveMedia, LiveMediaSpec, LocalMediaHost } from '../realtime/media-host.ts';
import {
  type FrameSource,
  type MediaEvent,
  SAMPLE_RATE,
  speechSynthesizer,
} from '../realtime/media-session.ts';
import { beepSynthesizer, TEST_CARD_SLUG, TestCardFrames } from '../realtime/test-card.ts';
import type { Identity } from '../registration/identity.ts';
import type { Registrar } from '../registration/registrar.ts';
import type { RenderPool } from '../render/render-pool.ts';
import type { RenderService } from '../render/render-service.ts';
import type { PortraitRenderer } from '../render/renderer.ts';
import type { SpeechService } from '../speech/speech-service.ts';
import type { VoiceRef } from '../speech/voice-catalog.ts';
import { avatarIdentityFor, roomFor, viewerToken } from '../transport/livekit-tokens.ts';
import type { QuotaService } from '../usage/quota.ts';
import type { UsageLedger } from '../usage/usage-ledger.ts';
import { isLive } from './lifecycle.ts';
import type { SessionRow, SessionService, SessionTransitionEvent } from './session-service.ts';

const METER_INTERVAL_MS = 5000;
export const MAX_VIEWERS_PER_SESSION = 4;

export interface LiveKitAccess {
  url: string;
  room: string;
  token: string;
  identity: string;
  avatar_identity: string;
}

/**
 * The words of a reply that were heard: whole pieces whose audio was played, and of the piece playing when it
 * was interrupted, the share of its words that its played samples cover.
 */
export function heardText(
  pieces: { text: string; end: number }[],
  playedSamples: number,
  interrupted: boolean,
): string {
  if (!interrupted) return pieces.map((p) => p.text).join(' ');
  const out: string[] = [];
  let start = 0;
  for (const p of pieces) {
    if (playedSamples >= p.end) out.push(p.text);
    else {
      const words = p.text.split(/\s+/);
      const share = Math.max(0, (playedSamples - start) / Math.max(1, p.end - start));
      const n = Math.floor(words.length * share);
      if (n > 0) out.push(`${words.slice(0, n).join(' ')}...`);
      break;
    }
    start = p.end;
  }
  return out.join(' ');
}

/** Frames drawn on a render thread (render-pool.ts), leaving the event loop to the audio clock. */
async function threadFrames(
  pool: RenderPool,
  identity: Identity,
  renderer: PortraitRenderer,
): Promise<FrameSource> {
  const thread = await pool.open(identity, renderer);
  return { size: renderer.size, renderAsync: (p) => thread.render(p), close: () => thread.close() };
}

interface Metered {
  tenantId: string;
  /** The tenant was told its minutes are nearly used (once per session). */
  warned?: boolean;
  /** Ends the session when the minutes left run out, when that is sooner than the next meter tick. */
  quotaTimer?: NodeJS.Timeout;
  /** Metering writes run one after another, so the final flush sees every earlier tick settled. */
  chain: Promise<void>;
  timer: NodeJS.Timeout;
}

export interface LiveSessionDeps {
  sessions: SessionService;
  characters: CharacterService;
  registrar: Registrar;
  renders: RenderService;
  speech: SpeechService;
  usage: UsageLedger;
  quota: QuotaService;
  config: Config;
  logger: Logger;
  host: LocalMediaHost;
  renderPool: RenderPool;
}

/**
 * Policy for realtime sessions: every call first checks, in the database, that the session belongs to the
 * caller's tenant, is live and is a realtime session; only then does it touch the media host. So no request
 * can reach another tenant's live media, use up its viewer slots, or keep an ended session's media alive.
 * Also meters media seconds while someone watches (metering counts as activity), and tears media down when
 * the session ends, whatever ended it.
 */
export class LiveSessions {
  private readonly metered = new Map<string, Metered>();
  /** Sessions whose first viewer has been seen (and greeted, when the session asked for it). */
  private readonly greeted = new Set<string>();
  /** Set by the conversation layer: a session's microphone has started sending audio. */
  onHearing: ((tenantId: string, sessionId: string, live: LiveMedia) => void) | undefined;
  /** Called once a session that ended (any mode) has been torn down and its last media seconds recorded. */
  onEnded: ((e: SessionTransitionEvent) => void) | undefined;

  constructor(private readonly deps: LiveSessionDeps) {
    deps.sessions.on('transition', (e) => {
      if (e.to === 'ended' || e.to === 'expired')
        void this.teardown(e.session.id)
          .catch((err) => deps.logger.error({ err, sessionId: e.session.id }, 'session teardown failed'))
          .finally(() => this.onEnded?.(e));
    });
  }

  /** Starts the render threads now, so the first live session does not wait for them. */
  warm(): void {
    this.deps.renderPool.warm();
  }

  get host(): LocalMediaHost {
    return this.deps.host;
  }

  /** The session row, after checking tenant, state and mode. Throws 404 / 409. */
  async authorize(tenantId: string, sessionId: string): Promise<SessionRow> {
    const s = await this.deps.sessions.get(tenantId, sessionId);
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

  /**
   * Authorizes, then opens (or finds) the session's live media; `authorized`: the session's row when the caller
   * has just checked it.
   */
  private async media(tenantId: string, sessionId: string, authorized?: SessionRow): Promise<LiveMedia> {
    const session = authorized ?? (await this.authorize(tenantId, sessionId));
    const live = await this.deps.host.open(sessionId, () => this.spec(tenantId, session));
    if (!this.metered.has(sessionId)) this.startMetering(tenantId, sessionId, live);
    live.onInputStarted ??= () => this.onHearing?.(tenantId, sessionId, live);
    return live;
  }

  private async spec(tenantId: string, session: SessionRow): Promise<LiveMediaSpec> {
    const { characters, registrar, renders, speech, config } = this.deps;
    const character = await characters.get(tenantId, session.character_id);
    const identity = await registrar.load(character.identity.id);
    const renderer = await renders.renderer(identity.id, config.limits.portraitSize);
    // The test card runs through the same clock, queue and transports; only its pictures and sound differ.
    const testCard = character.slug === TEST_CARD_SLUG;
    return {
      identity,
      frames: testCard
        ? new TestCardFrames(renderer.size)
        : await threadFrames(this.deps.renderPool, identity, renderer),
      synthesize: testCard ? beepSynthesizer : speechSynthesizer(speech),
      mood: character.persona.mood,
      seed: seedFrom(`${identity.id}\u0000${session.id}`),
    };
  }

  async connectWhep(
    tenantId: string,
    sessionId: string,
    offerSdp: string,
  ): Promise<{ peerId: string; answer: string }> {
    if (!offerSdp.startsWith('v=0'))
      throw new Problem('validation-error', 'The body must be an SDP offer (application/sdp).');
    const live = await this.media(tenantId, sessionId);
    const connected = await live.connectWhep(offerSdp, MAX_VIEWERS_PER_SESSION);
    // The first connection makes the session active. It may have ended while the offer was answered.
    try {
      await this.deps.sessions.touch(tenantId, sessionId);
    } catch (err) {
      live.disconnectWhep(connected.peerId);
      throw err;
    }
    return connected;
  }

  /**
   * LiveKit: puts the character in the session's room (once) and returns a join token for an end user. The
   * avatar sends media while anyone else is in the room; the first participant to join makes the session
   * active, as a WHEP connection does.
   */
  async connectLiveKit(tenantId: string, sessionId: string, tokenTtlS: number): Promise<LiveKitAccess> {
    const { config, logger } = this.deps;
    const cfg = config.livekit;
    if (!cfg) throw new Error('LiveKit is not configured');
    const live = await this.media(tenantId, sessionId);
    try {
      await live.joinLiveKit(cfg, config.limits.portraitSize, logger);
    } catch (err) {
      if (err instanceof Problem) throw err;
      throw new Problem('livekit-unavailable', `Could not join ${cfg.url}: ${(err as Error).message}`, {
        retry_after_s: 5,
      });
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

  async disconnect(tenantId: string, sessionId: string, peerId: string): Promise<void> {
    await this.deps.sessions.get(tenantId, sessionId); // 404 for another tenant's session, before any lookup
    const live = this.deps.host.get(sessionId);
    if (!live?.disconnectWhep(peerId))
      throw new Problem('not-found', `No WHEP resource ${peerId} on session ${sessionId}.`);
  }

  async speak(
    tenantId: string,
    sessionId: string,
    req: { text: string; voice?: VoiceRef | undefined; mood?: Mood | undefined; rate?: number | undefined },
  ): Promise<string> {
    const { sessions, characters, speech, config } = this.deps;
    const s = await this.authorize(tenantId, sessionId);
    const character = await characters.get(tenantId, s.character_id);
    const voice = req.voice ?? character.voice;
    speech.prepare(req.text, voice, { maxChars: config.limits.maxTextChars });
    // On the way to the first sound: one database round trip fewer (the session was checked just above).
    const live = await this.media(tenantId, sessionId, s);
    const utteranceId = live.media.speak(req.text, {
      voice,
      ...(req.mood ? { mood: req.mood } : {}),
      ...(req.rate !== undefined ? { rate: req.rate } : {}),
    });
    // After the utterance is queued: the session's last activity is bookkeeping, not on the way to the sound.
    await sessions.touch(tenantId, sessionId);
    return utteranceId;
  }

  /**
   * A reply output for a live session (conversation/agent.ts): the pieces are synthesized as they arrive and
   * played as one utterance; it resolves when the utterance finishes, with the words actually heard.
   */
  async replyOutput(
    tenantId: string,
    sessionId: string,
    opts: {
      voice: VoiceRef;
      mood?: Mood | undefined;
      onUtterance?: (utteranceId: string) => void;
      /** The session's row, when the caller has just authorized it: one database read less per turn. */
      authorized?: SessionRow;
    },
  ): Promise<ReplyOutput> {
    const live = await this.media(tenantId, sessionId, opts.authorized);
    const synthesize = speechSynthesizer(this.deps.speech);
    return {
      say: (pieces, signal) =>
        new Promise<Spoken>((resolve, reject) => {
          const started = performance.now();
          const said: { text: string; end: number }[] = [];
          let firstAudioMs: number | undefined;
          let firstSoundMs: number | undefined;
          let samples = 0;
          const source = async function* (utteranceSignal: AbortSignal) {
            const both = AbortSignal.any([signal, utteranceSignal]);
            for await (const piece of pieces) {
              if (both.aborted) return;
              // Each piece is a clause or sentence of one reply: it ends with the pause its ending calls for.
              for await (const chunk of synthesize(piece, opts.voice, both, { continues: true })) {
                firstAudioMs ??= performance.now() - started;
                samples += chunk.samples.length;
                yield chunk;
              }
              said.push({ text: piece, end: samples });
            }
          };
          let id: string;
          try {
            id = live.media.play('reply', source, opts.mood);
          } catch (err) {
            reject(err);
            return;
          }
          opts.onUtterance?.(id);
          const onAbort = () => live.media.stop(id);
          signal.addEventListener('abort', onAbort, { once: true });
          const onEvent = (e: MediaEvent) => {
            if (e.type === 'utterance.started' && e.utterance_id === id)
              firstSoundMs = performance.now() - started;
            if (e.type !== 'utterance.finished' || e.utterance_id !== id) return;
            live.media.off('event', onEvent);
            signal.removeEventListener('abort', onAbort);
            resolve({
              text: heardText(said, (e.playback_position_ms / 1000) * SAMPLE_RATE, e.interrupted),
              interrupted: e.interrupted,
              firstAudioMs,
              firstSoundMs,
            });
          };
          live.media.on('event', onEvent);
        }),
    };
  }

  async interrupt(tenantId: string, sessionId: string): Promise<number> {
    await this.authorize(tenantId, sessionId);
    return this.deps.host.get(sessionId)?.media.interrupt() ?? 0;
  }

  /** Subscribes to a session's media events; returns the unsubscribe function. */
  async subscribe(
    tenantId: string,
    sessionId: string,
    listener: (e: MediaEvent) => void,
  ): Promise<() => void> {
    const live = await this.media(tenantId, sessionId);
    live.media.on('event', listener);
    return () => live.media.off('event', listener);
  }

  /** Each frame's blendshapes as it goes out (clients that draw their own face). */
  async subscribeAnimation(
    tenantId: string,
    sessionId: string,
    listener: (frame: AnimationFrame) => void,
  ): Promise<() => void> {
    const live = await this.media(tenantId, sessionId);
    return live.media.onAnimationFrame(listener);
  }

  private startMetering(tenantId: string, sessionId: string, live: LiveMedia): void {
    const m: Metered = {
      tenantId,
      chain: Promise.resolve(),
      timer: setInterval(() => {
        m.chain = m.chain.then(() => this.meter(sessionId, m, live, false));
      }, METER_INTERVAL_MS),
    };
    m.timer.unref();
    this.metered.set(sessionId, m);
    live.onAudience = (viewers) => {
      // Someone connecting (WHEP or a LiveKit participant) is activity: it activates a created session.
      if (viewers === 0) return;
      void this.deps.sessions.touch(tenantId, sessionId).catch(() => undefined);
      if (!this.greeted.has(sessionId)) {
        this.greeted.add(sessionId);
        void this.greet(tenantId, sessionId, live).catch((err) =>
          this.deps.logger.warn({ err, sessionId }, 'greeting failed'),
        );
      }
    };
  }

  /** Sessions created with `greeting: true` open with the persona's greeting when the first viewer arrives. */
  private async greet(tenantId: string, sessionId: string, live: LiveMedia): Promise<void> {
    const session = await this.deps.sessions.get(tenantId, sessionId);
    if (!session.greeting) return;
    const character = await this.deps.characters.get(tenantId, session.character_id);
    const text = character.persona.greeting.trim();
    if (!text || live.closed) return;
    this.deps.speech.prepare(text, character.voice, { maxChars: this.deps.config.limits.maxTextChars });
    live.media.speak(text, { voice: character.voice });
  }

  /**
   * Records the media seconds sent since the last record. They are taken off the session's counter only once
   * written, so a failed write (the session ending between ticks) leaves them for the final flush: metering
   * closes exactly at session end.
   */
  private async meter(sessionId: string, m: Metered, live: LiveMedia, final: boolean): Promise<void> {
    const seconds = live.media.unmeteredSeconds;
    if (seconds <= 0) return;
    try {
      await this.deps.usage.record({
        tenantId: m.tenantId,
        sessionId,
        mediaSeconds: seconds,
        kind: 'realtime',
        final,
      });
      live.media.unmeteredSeconds -= seconds;
      if (!final) await this.enforceQuota(sessionId, m, live);
    } catch (err) {
      if (final) this.deps.logger.error({ err, sessionId, seconds }, 'final usage record failed');
      // Otherwise the session has just ended: its teardown flushes these seconds with final = true. Media
      // opened while it was ending would have missed that teardown: start it here.
      else if (err instanceof Problem && (err.slug === 'session-not-live' || err.slug === 'not-found'))
        void this.teardown(sessionId);
    }
  }

  /**
   * The tenant's monthly minutes, checked as media is metered: at 80 % the session's event stream says so
   * (`quota.warning`, once), at 100 % the session ends (`quota_exceeded`) after what was sent so far.
   */
  private async enforceQuota(sessionId: string, m: Metered, live: LiveMedia): Promise<void> {
    const quota = await this.deps.quota.status(m.tenantId);
    if (quota.monthly_minutes === null) return;
    const end = () => {
      live.media.emit('event', { type: 'quota.exceeded', ...quota, remaining_minutes: 0 });
      void this.deps.sessions.end(m.tenantId, sessionId, 'quota_exceeded').catch(() => undefined);
    };
    const leftS = (quota.remaining_minutes ?? 0) * 60;
    if (leftS <= 0) return end();
    // Warned at 80 %, or now if the end comes before the next look.
    const endsBeforeNextTick = leftS * 1000 < METER_INTERVAL_MS;
    if (!m.warned && (quota.used_minutes >= 0.8 * quota.monthly_minutes || endsBeforeNextTick)) {
      m.warned = true;
      live.media.emit('event', { type: 'quota.warning', ...quota });
    }
    // Less left than a meter tick: end on time rather than up to a tick late.
    if (endsBeforeNextTick && !m.quotaTimer) {
      m.quotaTimer = setTimeout(end, leftS * 1000);
      m.quotaTimer.unref();
    }
  }

  /** The session's media quality, kept with it for the usage API once its media has closed. */
  private async recordQuality(sessionId: string, live: LiveMedia): Promise<void> {
    const q = live.media.quality;
    await this.deps.sessions
      .setQuality(sessionId, {
        first_frame_ms: live.media.firstFrameMs ?? null,
        av_offset_ms: 0,
        frames_sent: q.framesSent,
        frames_dropped: q.framesDropped,
        late_frames: q.lateFrames,
        audio_underruns: q.audioUnderruns,
      })
      .catch((err) => this.deps.logger.warn({ err, sessionId }, 'session quality not recorded'));
  }

  async teardown(sessionId: string): Promise<void> {
    this.greeted.delete(sessionId);
    const m = this.metered.get(sessionId);
    this.metered.delete(sessionId);
    if (m) clearInterval(m.timer);
    if (m?.quotaTimer) clearTimeout(m.quotaTimer);
    const live = await this.deps.host.close(sessionId);
    if (m && live) {
      await m.chain;
      await this.meter(sessionId, m, live, true);
    }
    if (live) await this.recordQuality(sessionId, live);
  }

  async closeAll(): Promise<void> {
    await Promise.all([...this.metered.keys()].map((id) => this.teardown(id)));
    await this.deps.host.closeAll();
  }
}
