import fs from 'node:fs';
import { Readable } from 'node:stream';
import { createRoute, z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import type { Turn } from '../../conversation/memory/memory-store.ts';
import { Problem } from '../../errors.ts';
import type { Services } from '../../services.ts';
import {
  IdParam,
  MemorySchema,
  MessageSchema,
  problemResponse,
  SendAudioMessageForm,
  SendMessageBody,
} from '../schemas.ts';
import { type Api, type AppEnv, SECURITY } from '../types.ts';

const tags = ['Conversation'];
const sessionId = IdParam('Session', 'ses_01hz8x4m2k3n5p6q7r8s9t0v1w');
const UserQuery = z.object({
  user_id: z.string().min(1).max(128).openapi({ description: 'Your id for the end user.' }),
});

function messageView(t: Turn, pending = false) {
  return {
    id: t.id,
    session_id: t.session_id,
    status: pending ? ('answering' as const) : ('done' as const),
    user_text: t.user_text,
    reply_text: t.reply_text,
    interrupted: t.interrupted,
    model: t.model,
    video_url: t.video_file ? `/v1/sessions/${t.session_id}/messages/${t.id}/video` : null,
    duration_s: t.duration_s,
    metrics: t.metrics,
    created_at: t.created_at,
  };
}

const sendMessage = createRoute({
  method: 'post',
  path: '/v1/sessions/{id}/messages',
  operationId: 'sendMessage',
  summary: 'The user’s turn: the character answers in character, with what it remembers of this user',
  description:
    'JSON `{"text"}`, or multipart/form-data with an `audio` file (WAV, Ogg/Opus, WebM, MP3...: recognised, then ' +
    'answered the same way; the response adds `transcript`). ' +
    'Realtime session: 202 at once; the reply streams into speech (first clause first) and is spoken live; a ' +
    'newer message interrupts the reply in progress. Follow user.transcript, reply.delta, reply.finished or ' +
    'reply.failed on the event stream. On-demand session: the reply is rendered; with `Accept: video/mp4` the ' +
    'response is the MP4 itself, otherwise JSON with `video_url`; one message at a time per session (409).',
  tags,
  security: SECURITY,
  request: {
    params: sessionId,
    body: {
      content: {
        'application/json': { schema: SendMessageBody },
        'multipart/form-data': { schema: SendAudioMessageForm },
      },
      // One of the two is needed (no body is 415). Marked optional so that each validator runs only for its own
      // content type: with `required`, the form validator would refuse every JSON message.
      required: false,
      description: 'JSON {"text"} or multipart/form-data with an `audio` file.',
    },
  },
  responses: {
    200: {
      content: {
        'application/json': { schema: MessageSchema },
        'video/mp4': { schema: z.any().openapi({ type: 'string', format: 'binary' }) },
      },
      description: 'On demand: the reply (JSON, or the MP4 with Accept: video/mp4)',
    },
    202: {
      content: { 'application/json': { schema: MessageSchema } },
      description: 'Realtime: being answered',
    },
    400: problemResponse('Empty message or invalid fields'),
    404: problemResponse('No such session'),
    409: problemResponse('Session over; or an on-demand reply still in progress (turn-in-progress)'),
    413: problemResponse(
      'Audio over LIKENESS_MAX_AUDIO_BYTES or LIKENESS_MAX_AUDIO_S (payload-too-large, audio-too-long)',
    ),
    415: problemResponse('Neither JSON nor multipart/form-data'),
    422: problemResponse(
      'Message too long; audio that cannot be decoded (unsupported-audio) or holds no speech (no-speech)',
    ),
    429: problemResponse('Renders at capacity (Retry-After)'),
    502: problemResponse('The model, the speech engine or the recogniser failed'),
    503: problemResponse('No language model or recogniser available, or its endpoint is down (Retry-After)'),
  },
});

const listMessages = createRoute({
  method: 'get',
  path: '/v1/sessions/{id}/messages',
  operationId: 'listMessages',
  summary: 'The session’s turns, oldest first',
  tags,
  security: SECURITY,
  request: { params: sessionId },
  responses: {
    200: {
      content: { 'application/json': { schema: z.object({ data: z.array(MessageSchema) }) } },
      description: 'Turns',
    },
    404: problemResponse('No such session'),
  },
});

const messageVideo = createRoute({
  method: 'get',
  path: '/v1/sessions/{id}/messages/{message}/video',
  operationId: 'getMessageVideo',
  summary: 'The MP4 of an on-demand reply',
  tags,
  security: SECURITY,
  request: { params: z.object({ id: z.string().min(1).max(64), message: z.string().min(1).max(64) }) },
  responses: {
    200: {
      content: { 'video/mp4': { schema: z.any().openapi({ type: 'string', format: 'binary' }) } },
      description: 'The video',
    },
    404: problemResponse('No such message or video'),
  },
});

const getMemory = createRoute({
  method: 'get',
  path: '/v1/characters/{id}/memory',
  operationId: 'getMemory',
  summary: 'What the character remembers of one user: facts they told it and the recent turns',
  tags,
  security: SECURITY,
  request: { params: IdParam('Character', 'chr_01hz8x4m2k3n5p6q7r8s9t0v1w'), query: UserQuery },
  responses: {
    200: { content: { 'application/json': { schema: MemorySchema } }, description: 'Memory' },
    404: problemResponse('No such character'),
  },
});

const deleteMemory = createRoute({
  method: 'delete',
  path: '/v1/characters/{id}/memory',
  operationId: 'deleteMemory',
  summary: 'Erase what the character remembers of one user (turns, facts and reply videos)',
  tags,
  security: SECURITY,
  request: { params: IdParam('Character', 'chr_01hz8x4m2k3n5p6q7r8s9t0v1w'), query: UserQuery },
  responses: { 204: { description: 'Erased' }, 404: problemResponse('No such character') },
});

async function answerAudio(c: Context<AppEnv>, s: Services): Promise<Response> {
  let form: FormData;
  try {
    form = await c.req.raw.formData();
  } catch {
    throw new Problem('validation-error', 'The multipart body could not be read.', {
      errors: [{ path: '(body)', message: 'malformed multipart/form-data' }],
    });
  }
  const audio = form.get('audio');
  if (!(audio instanceof Blob) || audio.size === 0) {
    throw new Problem('validation-error', 'Add the user\'s speech as a file field named "audio".', {
      errors: [{ path: 'audio', message: 'required: a non-empty audio file' }],
    });
  }
  const id = c.req.param('id')!;
  const result = await s.conversations.sendAudio(
    c.get('auth').tenantId,
    id,
    new Uint8Array(await audio.arrayBuffer()),
    c.req.raw.signal,
  );
  return respond(c, s, result, result.transcript);
}

function respond(
  c: Context<AppEnv>,
  s: Services,
  { turn, pending }: { turn: Turn; pending: boolean },
  transcript?: { text: string; recognition_ms: number },
): Response {
  const view = { ...messageView(turn, pending), ...(transcript ? { transcript } : {}) };
  if (pending) return c.json(view, 202);
  if ((c.req.header('accept') ?? '').includes('video/mp4') && turn.video_file) {
    const file = s.registrar.files.resolve(turn.video_file);
    const { size } = fs.statSync(file);
    return c.body(Readable.toWeb(fs.createReadStream(file)) as ReadableStream, 200, {
      'Content-Type': 'video/mp4',
      'Content-Length': String(size),
      'X-Likeness-Message-Id': turn.id,
      'X-Likeness-Duration-S': String(turn.duration_s ?? 0),
      'X-Likeness-Reply-Text': encodeURIComponent(turn.reply_text),
      ...(transcript ? { 'X-Likeness-User-Text': encodeURIComponent(transcript.text) } : {}),
    });
  }
  return c.json(view, 200);
}

export function registerConversationRoutes(app: Api, services: () => Services) {
  // Before the validators: a clear 415 for anything else. An audio message is answered here (the body is
  // already capped by the body-limit middleware), so the JSON validator only ever sees JSON.
  app.use('/v1/sessions/:id/messages', async (c, next) => {
    if (c.req.method !== 'POST') return next();
    const type = c.req.header('content-type') ?? '';
    if (type.startsWith('multipart/form-data'))
      return answerAudio(c as unknown as Context<AppEnv>, services());
    if (!type.startsWith('application/json')) {
      throw new Problem(
        'unsupported-media-type',
        'Send the message as JSON {"text": "..."}, or as multipart/form-data with an "audio" file.',
      );
    }
    return next();
  });

  app.openapi(sendMessage, (async (c: Context<AppEnv>) => {
    const body = (c.req as unknown as { valid(t: 'json'): { text: string } }).valid('json');
    const s = services();
    const id = c.req.param('id')!;
    const result = await s.conversations.send(c.get('auth').tenantId, id, body.text, c.req.raw.signal);
    return respond(c, s, result);
  }) as never);

  app.openapi(listMessages, async (c) => {
    const turns = await services().conversations.list(c.get('auth').tenantId, c.req.valid('param').id);
    return c.json({ data: turns.map((t) => messageView(t)) }, 200);
  });

  app.openapi(messageVideo, (async (c: Context<AppEnv>) => {
    const { file } = await services().conversations.video(
      c.get('auth').tenantId,
      c.req.param('id')!,
      c.req.param('message')!,
    );
    const size = await fs.promises.stat(file).then(
      (st) => st.size,
      () => {
        throw new Problem('not-found', 'The video of this message is gone.');
      },
    );
    return c.body(Readable.toWeb(fs.createReadStream(file)) as ReadableStream, 200, {
      'Content-Type': 'video/mp4',
      'Content-Length': String(size),
      'Cache-Control': 'private, max-age=31536000, immutable',
    });
  }) as never);

  app.openapi(getMemory, async (c) => {
    const { id } = c.req.valid('param');
    const { user_id } = c.req.valid('query');
    const memory = await services().conversations.memory(c.get('auth').tenantId, id, user_id);
    return c.json(
      {
        character_id: id,
        user_id,
        facts: memory.facts.map((f) => ({ key: f.key, value: f.value, updated_at: f.updated_at })),
        turns: memory.turns.map((t) => messageView(t)),
      },
      200,
    );
  });

  app.openapi(deleteMemory, async (c) => {
    const { id } = c.req.valid('param');
    await services().conversations.forget(c.get('auth').tenantId, id, c.req.valid('query').user_id);
    return c.body(null, 204);
  });
}
