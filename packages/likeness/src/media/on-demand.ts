import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { seedFrom } from '../animation/random.ts';
import type { Character, CharacterService } from '../characters/character-service.ts';
import type { Config } from '../config.ts';
import { Problem } from '../errors.ts';
import type { Mood } from '../persona/persona.ts';
import type { Registrar } from '../registration/registrar.ts';
import type { RenderPool } from '../render/render-pool.ts';
import type { RenderService } from '../render/render-service.ts';
import { isLive } from '../sessions/lifecycle.ts';
import type { SessionRow, SessionService } from '../sessions/session-service.ts';
import type { SpeechService } from '../speech/speech-service.ts';
import type { VoiceRef } from '../speech/voice-catalog.ts';
import { estimateSpeechSeconds, type QuotaService } from '../usage/quota.ts';
import type { UsageLedger } from '../usage/usage-ledger.ts';
import { mediaCapExceeded } from './media-cap.ts';
import { renderUtteranceVideo, type UtteranceVideoResult } from './utterance-video.ts';

export interface GenerateRequest {
  text: string;
  voice?: VoiceRef | undefined;
  mood?: Mood | undefined;
  rate?: number | undefined;
  seed?: number | undefined;
  size?: number | undefined;
}

/** What an on-demand render needs from the rest of the server. */
export interface OnDemandDeps {
  batchRenders: RenderPool;
  sessions: SessionService;
  characters: CharacterService;
  speech: SpeechService;
  usage: UsageLedger;
  quota: QuotaService;
  renders: RenderService;
  registrar: Registrar;
  config: Config;
}

export interface GeneratedVideo extends UtteranceVideoResult {
  file: string;
  bytes: number;
}

/**
 * POST /v1/sessions/{id}/generate: checks everything that can be checked before work starts (session live and
 * on_demand, media left under the cap, text and voice), renders the MP4 into a temporary file, records usage
 * only when the file is complete. The caller streams the file and removes it.
 */
/** The session, if it is live and on demand; 404 / 409 otherwise. */
export async function requireOnDemandSession(
  services: Pick<OnDemandDeps, 'sessions'>,
  tenantId: string,
  sessionId: string,
) {
  const session = await services.sessions.get(tenantId, sessionId);
  if (!isLive(session.status)) {
    throw new Problem(
      'session-not-live',
      `Session ${sessionId} is ${session.status} (${session.end_reason}); start a new session.`,
      {
        session_status: session.status,
      },
    );
  }
  if (session.mode !== 'on_demand') {
    throw new Problem(
      'wrong-session-mode',
      `Session ${sessionId} is a ${session.mode} session; this needs an on_demand session. Use /speak or /messages for realtime.`,
    );
  }
  return session;
}

/** An on-demand job that has passed every check that can be made before work starts. */
export interface CheckedJob {
  session: SessionRow;
  character: Character;
  voice: VoiceRef;
  /** Media seconds the session has left. */
  remaining: number;
}

/**
 * What every on-demand job (MP4, stored video, animation track) checks before any work: the session is live
 * and on demand, text and voice are speakable, the session has media left. Bad input fails here, whole.
 */
export async function checkOnDemandJob(
  services: Pick<OnDemandDeps, 'sessions' | 'characters' | 'speech' | 'usage' | 'config'>,
  tenantId: string,
  sessionId: string,
  req: Pick<GenerateRequest, 'text' | 'voice'>,
): Promise<CheckedJob> {
  const session = await requireOnDemandSession(services, tenantId, sessionId);
  const character = await services.characters.get(tenantId, session.character_id);
  const voice = req.voice ?? character.voice;
  services.speech.prepare(req.text, voice, { maxChars: services.config.limits.maxTextChars });
  const remaining = session.max_duration_s - (await services.usage.sessionSeconds(session.id));
  if (remaining <= 0) throw mediaCapExceeded(0);
  return { session, character, voice, remaining };
}

/**
 * Runs a job while its estimated media is reserved against the tenant's monthly minutes (402 when it may not
 * start), until its usage is recorded: racing renders cannot all spend the tenant's last minute.
 */
export async function withMinutesReserved<T>(
  services: Pick<OnDemandDeps, 'quota'>,
  tenantId: string,
  text: string,
  job: () => Promise<T>,
): Promise<T> {
  const reservation = await services.quota.reserve(tenantId, estimateSpeechSeconds(text));
  try {
    return await job();
  } finally {
    reservation.release();
  }
}

export async function generateForSession(
  services: OnDemandDeps,
  tenantId: string,
  sessionId: string,
  req: GenerateRequest,
  opts: { keepAs?: string } = {},
): Promise<GeneratedVideo> {
  const job = await checkOnDemandJob(services, tenantId, sessionId, req);
  return withMinutesReserved(services, tenantId, req.text, () =>
    renderAndRecord(services, tenantId, job, req, opts),
  );
}

async function renderAndRecord(
  services: OnDemandDeps,
  tenantId: string,
  { session, character, voice, remaining }: CheckedJob,
  req: GenerateRequest,
  opts: { keepAs?: string },
): Promise<GeneratedVideo> {
  const size = req.size ?? services.config.limits.portraitSize;
  const renderer = await services.renders.renderer(character.identity.id, size);
  const identity = await services.registrar.load(character.identity.id);
  // Frames are drawn on a low-priority render thread: an MP4 never takes the event loop (and with it the
  // audio clock of live sessions) for itself.
  const thread = await services.batchRenders.open(identity, renderer, { warmup: false });
  await fs.mkdir(services.registrar.files.resolve('tmp'), { recursive: true });
  const file = services.registrar.files.resolve('tmp', `gen-${randomBytes(8).toString('hex')}.mp4`);
  let result: Awaited<ReturnType<typeof renderUtteranceVideo>>;
  try {
    result = await renderUtteranceVideo({
      identity,
      renderer,
      draw: (params) => thread.render(params),
      speech: services.speech,
      text: req.text,
      voice,
      mood: req.mood ?? character.persona.mood,
      rate: req.rate,
      seed: req.seed ?? seedFrom(`${identity.id}\u0000${req.text}`),
      maxSeconds: remaining,
      file,
    });
  } finally {
    thread.close();
  }
  try {
    await services.usage.record({
      tenantId,
      sessionId: session.id,
      mediaSeconds: result.durationS,
      kind: 'mp4',
    });
  } catch (err) {
    await fs.rm(file, { force: true });
    throw err;
  }
  const { size: bytes } = await fs.stat(file);
  if (opts.keepAs) {
    // Kept (a conversation reply's video): moved into place whole, so a crash never leaves half of one there.
    const kept = services.registrar.files.resolve(opts.keepAs);
    await fs.mkdir(path.dirname(kept), { recursive: true });
    await fs.rename(file, kept);
    return { ...result, file: kept, bytes };
  }
  return { ...result, file, bytes };
}
