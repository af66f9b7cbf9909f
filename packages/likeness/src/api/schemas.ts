import { z } from '@hono/zod-openapi';
import { PROBLEM_TYPES } from '../errors.ts';
import { MOODS } from '../persona/persona.ts';
import { MAX_MONTHLY_MINUTES, SANDBOX_MONTHLY_MINUTES } from '../usage/quota.ts';

/** Request and response shapes. The OpenAPI spec (and from it the SDK) is generated from these. */

export const ProblemSchema = z
  .object({
    type: z
      .string()
      .openapi({ example: '/problems/no-face', description: 'Stable URI naming the kind of error.' }),
    title: z.string(),
    status: z.number().int(),
    detail: z.string().openapi({ description: 'What went wrong and what to do about it.' }),
    instance: z.string().optional(),
    errors: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
  })
  .catchall(z.unknown())
  .openapi('Problem', {
    description: `RFC 9457 problem details. Types: ${Object.keys(PROBLEM_TYPES).join(', ')}.`,
  });

export const problemResponse = (description: string) => ({
  content: { 'application/problem+json': { schema: ProblemSchema } },
  description,
});

export const IdParam = (name: string, example: string) =>
  z.object({
    id: z
      .string()
      .min(1)
      .max(64)
      .openapi({ param: { name: 'id', in: 'path' }, example, description: `${name} id` }),
  });

export const PageQuery = z.object({
  limit: z.coerce
    .number()
    .int()
    .min(1)
    .max(100)
    .default(20)
    .openapi({ description: 'Items per page (1-100).' }),
  cursor: z.string().max(64).optional().openapi({ description: 'next_cursor from the previous page.' }),
});

export const BoxSchema = z
  .object({ x: z.number(), y: z.number(), width: z.number(), height: z.number() })
  .openapi('Box');

export const VoiceSchema = z
  .object({ provider: z.enum(['kokoro', 'piper', 'flite', 'openai']), id: z.string().min(1).max(64) })
  .openapi('Voice', { example: { provider: 'kokoro', id: 'af_heart' } });

export const PersonaSchema = z
  .object({
    prompt: z.string().max(8000).openapi({ description: "Who the character is; the LLM's system prompt." }),
    greeting: z.string().max(500),
    mood: z.enum(MOODS).openapi({ description: 'Baseline expression.' }),
  })
  .openapi('Persona');

export const CharacterModelSchema = z
  .object({
    base_url: z
      .string()
      .max(500)
      .openapi({ description: 'Base URL (…/v1) of an OpenAI-compatible chat-completions API.' }),
    model: z.string().min(1).max(200),
    has_api_key: z.boolean(),
  })
  .openapi('CharacterModel', {
    description: 'The character’s own language model; null: the server’s (embedded, or LIKENESS_LLM_URL).',
  });

export const CharacterModelInput = z
  .object({
    base_url: z.string().min(1).max(500),
    model: z.string().min(1).max(200),
    api_key: z
      .string()
      .max(500)
      .optional()
      .openapi({ description: 'Sent as a bearer token; never shown again.' }),
  })
  .strict()
  .openapi('CharacterModelInput');

export const IdentitySchema = z
  .object({
    id: z
      .string()
      .openapi({ description: 'Content address: hash of the uploaded bytes and the pipeline version.' }),
    cached: z.boolean().openapi({
      description: 'True when this request reused an identity built earlier (no detection ran).',
    }),
    landmark_count: z.number().int(),
    face_box: BoxSchema.openapi({ description: 'Face box in the normalised portrait, pixels.' }),
  })
  .openapi('Identity');

export const CharacterSchema = z
  .object({
    id: z.string().openapi({ example: 'chr_01hz8x4m2k3n5p6q7r8s9t0v1w' }),
    slug: z
      .string()
      .nullable()
      .openapi({ description: 'Stable name of a default-cast character, null for yours.' }),
    name: z.string(),
    voice: VoiceSchema,
    persona: PersonaSchema,
    llm: CharacterModelSchema.nullable(),
    is_cast: z.boolean(),
    identity: IdentitySchema,
    portrait_url: z.string(),
    created_at: z.string().datetime(),
    updated_at: z.string().datetime(),
  })
  .openapi('Character');

export const CharacterListSchema = z
  .object({ data: z.array(CharacterSchema), next_cursor: z.string().nullable() })
  .openapi('CharacterList');

const binary = (description: string) =>
  z.any().optional().openapi({ type: 'string', format: 'binary', description });

export const CreateCharacterForm = z
  .object({
    name: z.string().trim().min(1).max(80),
    portrait: binary('Portrait image: PNG, JPEG or WebP. Exactly one of portrait or video.'),
    video: binary(
      'Reference clip: MP4 or WebM, up to the video length limit. Exactly one of portrait or video.',
    ),
    voice: z.string().max(80).optional().openapi({
      description:
        '"af_heart", "kokoro:bm_george", "piper:joe", "flite:rms" or "openai:alloy" (GET /v1/voices). Default kokoro:af_heart.',
    }),
    persona: z.string().max(8000).optional().openapi({ description: 'Persona prompt.' }),
    greeting: z.string().max(500).optional(),
    mood: z.enum(MOODS).optional(),
    llm_base_url: z
      .string()
      .max(500)
      .optional()
      .openapi({ description: 'The character’s own OpenAI-compatible endpoint (…/v1); with llm_model.' }),
    llm_model: z.string().max(200).optional(),
    llm_api_key: z.string().max(500).optional(),
  })
  .openapi('CreateCharacterForm');

export const UpdateCharacterBody = z
  .object({
    name: z.string().trim().min(1).max(80).optional(),
    voice: VoiceSchema.optional(),
    persona: PersonaSchema.partial().optional(),
    llm: CharacterModelInput.nullable()
      .optional()
      .openapi({ description: 'null: use the server’s model again.' }),
  })
  .strict()
  .openapi('UpdateCharacter');

export const MessageSchema = z
  .object({
    id: z.string().openapi({ example: 'msg_01hz8x4m2k3n5p6q7r8s9t0v1w' }),
    session_id: z.string(),
    status: z.enum(['answering', 'done']).openapi({
      description: 'answering: a realtime reply is being spoken (follow it on the event stream).',
    }),
    user_text: z.string(),
    reply_text: z
      .string()
      .openapi({ description: 'What the character said aloud (cut where it was interrupted).' }),
    interrupted: z.boolean(),
    model: z.string(),
    video_url: z
      .string()
      .nullable()
      .openapi({ description: 'On-demand replies: the MP4, for the same key.' }),
    duration_s: z.number().nullable(),
    metrics: z.record(z.string(), z.number()).openapi({
      description:
        "ms from the message (typed) or the end of the user's speech (spoken live) to: llm_request_ms (the prompt built and asked of the model), llm_first_token_ms, first_clause_ms, tts_first_audio_ms, first_sound_ms, total_ms; spoken turns add vad_ms, recognition_ms (of it recognition_encode_ms and recognition_decode_ms, from recognisers that say), end_of_turn_ms.",
    }),
    transcript: z
      .object({ text: z.string(), recognition_ms: z.number() })
      .optional()
      .openapi({ description: 'Audio messages: what the recogniser heard (also user_text).' }),
    created_at: z.string().datetime(),
  })
  .openapi('Message');

export const SendMessageBody = z
  .object({ text: z.string().max(100_000).openapi({ description: 'What the user says.' }) })
  .strict()
  .openapi('SendMessage');

export const SendAudioMessageForm = z
  .object({
    audio: z.any().openapi({
      type: 'string',
      format: 'binary',
      description:
        'What the user said, as an audio file (WAV, Ogg/Opus, WebM, MP3...; up to LIKENESS_MAX_AUDIO_BYTES and LIKENESS_MAX_AUDIO_S). Audio with no speech is refused (422 no-speech).',
    }),
  })
  .openapi('SendAudioMessage');

export const MemorySchema = z
  .object({
    character_id: z.string(),
    user_id: z.string(),
    facts: z.array(z.object({ key: z.string(), value: z.string(), updated_at: z.string().datetime() })),
    turns: z.array(MessageSchema).openapi({ description: 'The most recent turns, oldest first (up to 50).' }),
  })
  .openapi('Memory');

const Timestamp = z.string().datetime();

export const BargeInSchema = z
  .object({
    mode: z.enum(['off', 'immediate', 'after']),
    after_ms: z.number().int().min(100).max(5000).optional(),
  })
  .strict()
  .refine((b) => b.mode === 'after' || b.after_ms === undefined, {
    message: 'after_ms goes with mode "after"',
    path: ['after_ms'],
  })
  .openapi('BargeIn', {
    description:
      'Realtime sessions with a microphone: what the user\'s speech over the character\'s answer does. off: nothing (the character finishes; what was said over it is not a turn); immediate: any speech silences it; after: speech lasting after_ms (default 400) silences it, while shorter backchannels ("yeah", "mm-hm", "okay") do not.',
    example: { mode: 'after', after_ms: 400 },
  });

export const SessionSchema = z
  .object({
    id: z.string().openapi({ example: 'ses_01hz8x4m2k3n5p6q7r8s9t0v1w' }),
    character_id: z.string(),
    user_id: z.string(),
    mode: z.enum(['realtime', 'on_demand']),
    status: z.enum(['created', 'active', 'ended', 'expired']),
    end_reason: z.enum(['client_ended', 'idle_timeout', 'max_duration', 'quota_exceeded']).nullable(),
    max_duration_s: z.number().int(),
    idle_timeout_s: z.number().int(),
    greeting: z.boolean().openapi({ description: 'Realtime: the character greets the first viewer.' }),
    barge_in: BargeInSchema,
    created_at: Timestamp,
    activated_at: Timestamp.nullable(),
    finished_at: Timestamp.nullable(),
    last_activity_at: Timestamp,
    expires_at: Timestamp.nullable().openapi({
      description: 'When the session will expire if nothing happens; null once over.',
    }),
    transitions: z.array(z.object({ status: z.string(), at: Timestamp, reason: z.string().optional() })),
  })
  .openapi('Session');

export const SessionListSchema = z
  .object({ data: z.array(SessionSchema), next_cursor: z.string().nullable() })
  .openapi('SessionList');

export const CreateSessionBody = z
  .object({
    character_id: z.string().min(1).max(64),
    user_id: z
      .string()
      .min(1)
      .max(128)
      .openapi({ description: 'Your id for the end user; usage can be grouped by it.' }),
    mode: z.enum(['realtime', 'on_demand']),
    max_duration_s: z
      .number()
      .int()
      .min(1)
      .optional()
      .openapi({ description: 'Hard cap on the session length, seconds.' }),
    idle_timeout_s: z
      .number()
      .int()
      .min(1)
      .max(86_400)
      .optional()
      .openapi({ description: 'Expire after this long without activity.' }),
    greeting: z.boolean().optional().openapi({
      description:
        'Realtime sessions: the character says its persona greeting as soon as the first viewer connects.',
    }),
    barge_in: BargeInSchema.optional(),
  })
  .strict()
  .openapi('CreateSession');

export const UsageQuery = z.object({
  from: z
    .string()
    .datetime({ offset: true })
    .optional()
    .openapi({ description: 'Inclusive start (ISO 8601). Default: start of this month, UTC.' }),
  to: z
    .string()
    .datetime({ offset: true })
    .optional()
    .openapi({ description: 'Exclusive end (ISO 8601). Default: now.' }),
  group_by: z.enum(['session', 'character', 'user']).default('session'),
});

export const QuotaSchema = z
  .object({
    monthly_minutes: z.number().nullable().openapi({ description: 'The plan; null: unlimited.' }),
    used_minutes: z.number().openapi({ description: 'Media minutes delivered this calendar month (UTC).' }),
    remaining_minutes: z.number().nullable(),
    resets_at: Timestamp,
  })
  .openapi('Quota');

export const UsageSchema = z
  .object({
    from: Timestamp,
    to: Timestamp,
    group_by: z.enum(['session', 'character', 'user']),
    data: z.array(
      z.object({
        key: z.string(),
        media_seconds: z.number(),
        media_minutes: z.number(),
        entries: z.number().int(),
        quality: z
          .object({
            first_frame_ms: z.number().nullable(),
            av_offset_ms: z.number(),
            frames_sent: z.number().int(),
            frames_dropped: z.number().int(),
            late_frames: z.number().int(),
            audio_underruns: z.number().int(),
          })
          .nullable()
          .optional()
          .openapi({
            description:
              'group_by=session: a live session’s media quality as sent (first frame after the first viewer, A/V offset at the sender, frames sent, dropped and late, audio underruns); null for on-demand sessions and live ones still running.',
          }),
      }),
    ),
    total: z.object({ media_seconds: z.number(), media_minutes: z.number() }),
    quota: QuotaSchema.openapi({ description: 'This month against the plan, whatever the window asked.' }),
  })
  .openapi('Usage');

export const ApiKeySchema = z
  .object({
    id: z.string(),
    name: z.string(),
    role: z.enum(['operator', 'admin', 'member']).openapi({
      description:
        'operator: runs the server, creates tenants. admin: manages its tenant’s keys. member: uses the API.',
    }),
    prefix: z.string().openapi({ description: 'First characters of the key, to recognise it.' }),
    created_at: Timestamp,
    revoked_at: Timestamp.nullable(),
  })
  .openapi('ApiKey');

export const ApiKeyWithSecretSchema = ApiKeySchema.extend({
  key: z.string().openapi({ description: 'The secret. Shown only in this response; store it now.' }),
}).openapi('ApiKeyWithSecret');

export const CreateKeyBody = z
  .object({
    name: z.string().trim().min(1).max(80),
    role: z.enum(['operator', 'admin', 'member']).default('member').openapi({
      description: 'admin and member keys: an admin or the operator; operator keys: the operator.',
    }),
  })
  .strict()
  .openapi('CreateKey');

export const PlanSchema = z
  .object({
    monthly_minutes: z
      .number()
      .min(0)
      .max(MAX_MONTHLY_MINUTES)
      .nullable()
      .openapi({
        description: `Media minutes a calendar month (UTC), live and on demand; null: unlimited. Default for new tenants: ${SANDBOX_MONTHLY_MINUTES} (the free sandbox).`,
        example: 600,
      }),
  })
  .strict()
  .openapi('Plan');

export const TenantSchema = z
  .object({ id: z.string(), name: z.string(), created_at: Timestamp, plan: PlanSchema })
  .openapi('Tenant');

export const CreateTenantBody = z
  .object({ name: z.string().trim().min(1).max(80), plan: PlanSchema.optional() })
  .strict()
  .openapi('CreateTenant');

export const VoiceInfoSchema = z
  .object({
    provider: z.enum(['kokoro', 'piper', 'flite', 'openai']).openapi({ description: 'The engine.' }),
    id: z.string(),
    name: z.string(),
    language: z.string().openapi({ example: 'en-US' }),
    gender: z.enum(['female', 'male']),
    style: z.string().openapi({ description: 'How it sounds, in a word or two.' }),
    sample_rate: z.number().int(),
    exact_timings: z.boolean().openapi({
      description: 'Phoneme timings come from the engine (visemes land exactly), not from the loudness.',
    }),
    available: z.boolean().openapi({
      description:
        'This server runs the engine. A neural voice that is not available is spoken by a Flite stand-in.',
    }),
    sample_url: z.string().openapi({ description: 'A short spoken preview (WAV).' }),
  })
  .openapi('VoiceInfo');

const Point2 = z.tuple([z.number(), z.number()]);
const Point3 = z.tuple([z.number(), z.number(), z.number()]);
const RgbSchema = z.tuple([z.number().int(), z.number().int(), z.number().int()]);

export const IdentityDetailSchema = z
  .object({
    id: z.string(),
    pipeline_version: z.string(),
    size: z.number().int().openapi({ description: 'Side of the square normalised portrait, pixels.' }),
    source: z.object({
      kind: z.enum(['image', 'video']),
      width: z.number().int(),
      height: z.number().int(),
      format: z.string(),
      frame_time_s: z
        .number()
        .optional()
        .openapi({ description: 'For a video: time of the frame chosen as the portrait.' }),
    }),
    landmarks: z.array(Point3).openapi({
      description: '478 points (468 face mesh + 10 iris) in portrait pixels; z is relative depth.',
    }),
    face_box: BoxSchema,
    pose: z.object({ yaw_deg: z.number(), pitch_deg: z.number(), roll_deg: z.number() }),
    mesh: z.object({
      vertices: z.array(Point2),
      triangles: z.array(Point3),
      face_vertex_count: z.number().int(),
      ring_vertex_count: z.number().int(),
      border_vertex_count: z.number().int(),
    }),
    regions: z.record(
      z.string(),
      z.union([z.array(z.number().int()), z.record(z.string(), z.number().int())]),
    ),
    palette: z.object({ skin: RgbSchema, lip: RgbSchema, background: RgbSchema, mouth_cavity: RgbSchema }),
    idle: z.object({
      source: z.enum(['default', 'video']),
      blink_rate_per_min: z.number(),
      blink_duration_ms: z.number(),
      head_sway_deg: z.object({ yaw: z.number(), pitch: z.number(), roll: z.number() }),
      sway_period_s: z.number(),
      breath_rate_per_min: z.number(),
      saccade_interval_s: z.number(),
    }),
  })
  .openapi('IdentityDetail');
