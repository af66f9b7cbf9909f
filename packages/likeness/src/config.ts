import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** Every knob the server reads, with its environment variable and default. The README's table mirrors this. */
export interface Config {
  port: number;
  host: string;
  dataDir: string;
  /** Postgres connection string; when absent the embedded PGlite database under dataDir is used. */
  databaseUrl: string | undefined;
  /** A key accepted for the default tenant (admin role). */
  apiKey: string | undefined;
  /** Signs short-lived session tokens; default: a random key kept in the data directory. */
  tokenSecret: string | undefined;
  logLevel: string;
  limits: Limits;
  sessions: SessionDefaults;
  capacity: Capacity;
  speech: SpeechConfig;
  llm: LlmConfig;
  stt: SttConfig;
  /** Set when LIVEKIT_URL, LIVEKIT_API_KEY and LIVEKIT_API_SECRET are: sessions are also served in LiveKit rooms. */
  livekit: LiveKitConfig | undefined;
  webhooks: WebhookConfig;
  /** Stored videos (POST /v1/sessions/{id}/videos) are deleted this many hours after they were made. */
  videoRetentionH: number;
}

export interface WebhookConfig {
  /** One delivery attempt waits this long for the receiver's response. */
  timeoutMs: number;
  /** Seconds before each retry; a delivery fails for good after the last (1 + length attempts). */
  retryScheduleS: number[];
  /** Deliveries in flight at once, across tenants: a slow receiver holds one of these, nothing else. */
  concurrency: number;
  /** Endpoints per tenant. */
  maxPerTenant: number;
  /** Receivers on private or loopback addresses (the server's own network) are refused unless this is set. */
  allowPrivateUrls: boolean;
}

export interface LiveKitConfig {
  /** ws(s):// URL of the LiveKit server, for the avatar and for end users. */
  url: string;
  apiKey: string;
  apiSecret: string;
}

function livekitConfig(env: Env): LiveKitConfig | undefined {
  const url = env.LIVEKIT_URL || undefined;
  const apiKey = env.LIVEKIT_API_KEY || undefined;
  const apiSecret = env.LIVEKIT_API_SECRET || undefined;
  if (!url && !apiKey && !apiSecret) return undefined;
  if (!url || !apiKey || !apiSecret)
    throw new Error('LiveKit needs all of LIVEKIT_URL, LIVEKIT_API_KEY and LIVEKIT_API_SECRET');
  if (!/^(wss?|https?):\/\//.test(url)) throw new Error(`LIVEKIT_URL must be a ws(s):// URL, got "${url}"`);
  return { url, apiKey, apiSecret };
}

/** Stage 2's model: the embedded one by default, or any OpenAI-compatible endpoint. */
export interface LlmConfig {
  /** Base URL (.../v1) of an OpenAI-compatible chat-completions API; unset: the embedded model. */
  url: string | undefined;
  key: string | undefined;
  model: string;
  /** The embedded model's GGUF file. */
  embeddedFile: string;
  /** Processes holding the embedded model (one reply at a time each). */
  processes: number;
  /** Threads per embedded model process. */
  threads: number;
  /** Characters may name their own endpoint; one on a private or loopback address only when allowed. */
  allowPrivateUrls: boolean;
}

/** Listening: the embedded Whisper by default, or any OpenAI-compatible /audio/transcriptions endpoint. */
export interface SttConfig {
  /** Base URL (.../v1) of an OpenAI-compatible transcription API; unset: the embedded recogniser. */
  url: string | undefined;
  key: string | undefined;
  model: string;
  /** The embedded Whisper model's directory and the Python runtime that runs it (both from `npm run setup`). */
  modelDir: string;
  python: string;
  processes: number;
  threads: number;
  /** The users' language (ISO 639-1). */
  language: string;
  /** An audio message's length cap, seconds. */
  maxAudioS: number;
}

export interface SpeechConfig {
  /**
   * The embedded neural voice (Kokoro), LIKENESS_NEURAL_VOICE: `on`, `off`, or `auto` (the default: on with at
   * least NEURAL_MIN_CORES cores, where it keeps ahead of live video). It also needs the files the setup installs
   * and espeak-ng on the PATH; without it, Flite speaks for the neural voices.
   */
  neural: 'on' | 'off' | 'auto';
  /** Where the setup put the models (the neural voice is under kokoro/). */
  modelDir: string;
  /** Threads the neural model's one process uses (LIKENESS_VOICE_THREADS, default 2). */
  neuralThreads: number;
  /** The espeak-ng program that phonemizes for the neural voice (LIKENESS_ESPEAK). */
  espeak: string;
  /** Base URL of an OpenAI-compatible API (…/v1); enables voices "openai:<id>". */
  openaiUrl: string | undefined;
  openaiKey: string | undefined;
  openaiModel: string;
}

export interface Limits {
  /** An audio message (multipart `audio` on POST /v1/sessions/{id}/messages). */
  maxAudioBytes: number;
  maxImageBytes: number;
  maxVideoBytes: number;
  maxImagePixels: number;
  maxVideoSeconds: number;
  /** Smallest accepted face, as the detector's box width in source pixels. */
  minFacePixels: number;
  /** Largest accepted head turn (yaw or pitch), degrees. */
  maxHeadTurnDegrees: number;
  portraitSize: number;
  maxNameLength: number;
  maxPersonaChars: number;
  maxConcurrentSessions: number;
  maxTextChars: number;
  /** Largest JSON (or other non-upload) request body, enforced while it streams. */
  maxJsonBytes: number;
  /** Longest user message to a character. */
  maxMessageChars: number;
}

/**
 * What this process takes at once; beyond it, requests get 429 server-busy with Retry-After. Defaults scale
 * with the cores; the figures behind them come from `npm run bench:capacity` (README "Capacity").
 */
export interface Capacity {
  /** Live sessions being watched at once (each renders and encodes 25 fps). */
  liveSessions: number;
  /** MP4 renders running at once, and waiting in line. */
  renders: number;
  renderQueue: number;
  /** Character registrations (face detection, video analysis) running at once, and waiting. */
  registrations: number;
  registrationQueue: number;
  /** Speech engine processes (one synthesis at a time each). */
  speechProcesses: number;
  /** Threads that draw live sessions' frames. */
  renderThreads: number;
}

export interface SessionDefaults {
  idleTimeoutS: number;
  maxDurationS: number;
  /** Upper bound a client may ask for with max_duration_s. */
  maxDurationCapS: number;
  sweepIntervalMs: number;
}

type Env = Record<string, string | undefined>;

const cores = () => os.availableParallelism();

/**
 * Cores below which `auto` leaves the neural voice off. Measured on 2 cores: with one live session's video
 * rendering, the neural voice synthesised slower than realtime (first answer sound 4 s after the user stopped
 * speaking, against 1.3 s with Flite); it needs about two cores of its own.
 */
export const NEURAL_MIN_CORES = 4;

function neuralSetting(value: string | undefined): 'on' | 'off' | 'auto' {
  const v = (value ?? '').trim().toLowerCase();
  if (['off', '0', 'false', 'no'].includes(v)) return 'off';
  if (['on', '1', 'true', 'yes'].includes(v)) return 'on';
  if (v === '' || v === 'auto') return 'auto';
  throw new Error(`LIKENESS_NEURAL_VOICE must be on, off or auto, not "${value}"`);
}

/**
 * The embedded model's weights: the Q4_0 rewrite the setup builds (it reads a user's turn ~40 % faster on x86,
 * see models/tools/gguf_q4_0.mjs), or the Q4_1 file it is built from when the build did not happen.
 */
function defaultModelFile(): string {
  const models = path.join(import.meta.dirname, '../models');
  const fast = path.join(models, 'smollm2-135m-instruct.q4_0.gguf');
  return fs.existsSync(fast) ? fast : path.join(models, 'smollm2-135m-instruct.q4_1.gguf');
}

/** Standard Webhooks' suggested schedule, shortened: 5 s, 5 min, 30 min, 2 h, 5 h, 10 h. */
const DEFAULT_RETRY_SCHEDULE_S = [5, 300, 1800, 7200, 18_000, 36_000];

function secondsList(env: Env, name: string, fallback: number[]): number[] {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  const values = raw.split(',').map((v) => Number(v.trim()));
  if (values.length > 20 || values.some((v) => !Number.isFinite(v) || v < 0 || v > 7 * 86_400))
    throw new Error(`${name} must be a comma-separated list of at most 20 seconds (0..604800), got "${raw}"`);
  return values;
}

function int(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new Error(`${name} must be an integer between ${min} and ${max}, got "${raw}"`);
  }
  return value;
}

export function loadConfig(env: Env = process.env): Config {
  return {
    port: int(env, 'PORT', 8080, 0, 65535),
    host: env.HOST ?? '0.0.0.0',
    dataDir: path.resolve(env.LIKENESS_DATA_DIR ?? './data'),
    databaseUrl: env.DATABASE_URL || undefined,
    apiKey: env.LIKENESS_API_KEY || undefined,
    tokenSecret: env.LIKENESS_TOKEN_SECRET || undefined,
    logLevel: env.LOG_LEVEL ?? 'info',
    limits: {
      maxAudioBytes: int(env, 'LIKENESS_MAX_AUDIO_BYTES', 10 * 1024 * 1024, 1024, 200 * 1024 * 1024),
      maxImageBytes: int(env, 'LIKENESS_MAX_IMAGE_BYTES', 10 * 1024 * 1024, 1024, 200 * 1024 * 1024),
      maxVideoBytes: int(env, 'LIKENESS_MAX_VIDEO_BYTES', 50 * 1024 * 1024, 1024, 1024 * 1024 * 1024),
      maxImagePixels: int(env, 'LIKENESS_MAX_IMAGE_PIXELS', 40_000_000, 10_000, 400_000_000),
      maxVideoSeconds: int(env, 'LIKENESS_MAX_VIDEO_SECONDS', 30, 1, 600),
      minFacePixels: int(env, 'LIKENESS_MIN_FACE_PIXELS', 80, 16, 2000),
      maxHeadTurnDegrees: int(env, 'LIKENESS_MAX_HEAD_TURN_DEGREES', 30, 5, 90),
      portraitSize: int(env, 'LIKENESS_PORTRAIT_SIZE', 512, 256, 1024),
      maxNameLength: 80,
      maxPersonaChars: 8000,
      maxConcurrentSessions: int(env, 'LIKENESS_MAX_CONCURRENT_SESSIONS', 10, 1, 10_000),
      maxTextChars: int(env, 'LIKENESS_MAX_TEXT_CHARS', 5000, 1, 100_000),
      maxJsonBytes: int(env, 'LIKENESS_MAX_JSON_BYTES', 256 * 1024, 1024, 16 * 1024 * 1024),
      maxMessageChars: int(env, 'LIKENESS_MAX_MESSAGE_CHARS', 2000, 1, 100_000),
    },
    speech: {
      neural: neuralSetting(env.LIKENESS_NEURAL_VOICE),
      modelDir: path.resolve(env.LIKENESS_MODEL_DIR || path.join(import.meta.dirname, '../models')),
      neuralThreads: int(env, 'LIKENESS_VOICE_THREADS', 2, 1, 32),
      espeak: env.LIKENESS_ESPEAK || 'espeak-ng',
      openaiUrl: env.LIKENESS_OPENAI_SPEECH_URL || undefined,
      openaiKey: env.LIKENESS_OPENAI_SPEECH_KEY || undefined,
      openaiModel: env.LIKENESS_OPENAI_SPEECH_MODEL || 'tts-1',
    },
    livekit: livekitConfig(env),
    llm: {
      url: env.LIKENESS_LLM_URL || undefined,
      key: env.LIKENESS_LLM_KEY || undefined,
      model: env.LIKENESS_LLM_MODEL || 'gpt-4o-mini',
      embeddedFile: path.resolve(env.LIKENESS_LLM_MODEL_FILE || defaultModelFile()),
      processes: int(env, 'LIKENESS_LLM_PROCESSES', 1, 1, 8),
      threads: int(env, 'LIKENESS_LLM_THREADS', 1, 1, 32),
      allowPrivateUrls: env.LIKENESS_LLM_ALLOW_PRIVATE_URLS === '1',
    },
    stt: {
      url: env.LIKENESS_STT_URL || undefined,
      key: env.LIKENESS_STT_KEY || undefined,
      model: env.LIKENESS_STT_MODEL || 'whisper-1',
      modelDir: path.resolve(
        env.LIKENESS_STT_MODEL_DIR || path.join(import.meta.dirname, '../models/whisper-base'),
      ),
      python: path.resolve(
        env.LIKENESS_STT_PYTHON || path.join(import.meta.dirname, '../models/stt-env/bin/python'),
      ),
      processes: int(env, 'LIKENESS_STT_PROCESSES', 1, 1, 8),
      threads: int(env, 'LIKENESS_STT_THREADS', Math.max(1, Math.min(cores(), 4)), 1, 32),
      language: /^[a-z]{2}$/.test(env.LIKENESS_STT_LANGUAGE ?? '') ? env.LIKENESS_STT_LANGUAGE! : 'en',
      maxAudioS: int(env, 'LIKENESS_MAX_AUDIO_S', 60, 1, 600),
    },
    capacity: {
      liveSessions: int(env, 'LIKENESS_MAX_LIVE_SESSIONS', Math.max(1, Math.floor(1.5 * cores())), 1, 1000),
      renders: int(env, 'LIKENESS_MAX_RENDERS', Math.max(1, Math.floor(cores() / 2)), 1, 64),
      renderQueue: int(env, 'LIKENESS_MAX_RENDER_QUEUE', 4, 0, 1000),
      registrations: int(env, 'LIKENESS_MAX_REGISTRATIONS', Math.max(1, cores()), 1, 64),
      registrationQueue: int(env, 'LIKENESS_MAX_REGISTRATION_QUEUE', 8, 0, 1000),
      speechProcesses: int(env, 'LIKENESS_SPEECH_PROCESSES', Math.max(1, Math.min(cores(), 4)), 1, 32),
      renderThreads: int(env, 'LIKENESS_RENDER_THREADS', cores(), 1, 64),
    },
    sessions: {
      idleTimeoutS: int(env, 'LIKENESS_SESSION_IDLE_TIMEOUT_S', 300, 1, 86_400),
      maxDurationS: int(env, 'LIKENESS_SESSION_MAX_DURATION_S', 3600, 1, 86_400),
      maxDurationCapS: int(env, 'LIKENESS_SESSION_MAX_DURATION_CAP_S', 4 * 3600, 1, 7 * 86_400),
      sweepIntervalMs: int(env, 'LIKENESS_SESSION_SWEEP_MS', 1000, 50, 60_000),
    },
    webhooks: {
      timeoutMs: int(env, 'LIKENESS_WEBHOOK_TIMEOUT_MS', 10_000, 100, 60_000),
      retryScheduleS: secondsList(env, 'LIKENESS_WEBHOOK_RETRY_S', DEFAULT_RETRY_SCHEDULE_S),
      concurrency: int(env, 'LIKENESS_WEBHOOK_CONCURRENCY', 8, 1, 256),
      maxPerTenant: int(env, 'LIKENESS_MAX_WEBHOOKS', 20, 1, 1000),
      allowPrivateUrls: env.LIKENESS_WEBHOOK_ALLOW_PRIVATE_URLS === '1',
    },
    videoRetentionH: int(env, 'LIKENESS_VIDEO_RETENTION_H', 72, 1, 24 * 365),
  };
}
