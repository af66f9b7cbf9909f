import { createRoute, z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { streamSSE } from 'hono/streaming';
import { Problem } from '../../errors.ts';
import type { Services } from '../../services.ts';
import { SESSION_TOKEN_TTL_S } from '../../tenancy/session-token.ts';
import { hasControlCharacters } from '../input-rules.ts';
import { IdParam, problemResponse } from '../schemas.ts';
import { type Api, type AppEnv, SECURITY } from '../types.ts';

const tags = ['Realtime'];
const sessionId = IdParam('Session', 'ses_01hz8x4m2k3n5p6q7r8s9t0v1w');
export const MAX_SDP_BYTES = 64 * 1024;

const SpeakBody = z
  .object({
    text: z.string().max(100_000),
    voice: z.string().max(80).optional(),
    mood: z.enum(['neutral', 'happy']).optional(),
    rate: z.number().min(0.5).max(2).optional().openapi({
      description:
        'Speaking rate, 1 = the voice’s own (0.5 to 2). The neural voice follows it; Flite ignores it.',
    }),
  })
  .strict()
  .openapi('SpeakRequest');

const TokenSchema = z
  .object({
    token: z
      .string()
      .openapi({ description: 'Opens this session’s media (WHEP, events) only. Give it to the end user.' }),
    expires_at: z.string().datetime(),
    whep_url: z.string().openapi({ description: 'POST an SDP offer here with the token as bearer.' }),
    events_url: z.string(),
    livekit: z
      .object({
        url: z.string().openapi({ description: 'The LiveKit server (ws/wss).' }),
        room: z.string().openapi({ description: 'The session’s room; a voice agent joins it too.' }),
        token: z
          .string()
          .openapi({ description: 'Join token for the end user (subscribe, microphone, data).' }),
        identity: z.string().openapi({ description: 'The end user’s participant identity in that token.' }),
        avatar_identity: z.string().openapi({
          description:
            'The character’s participant: send it agent audio on `lk.audio_stream` (LiveKit Agents avatar protocol).',
        }),
      })
      .optional()
      .openapi({ description: 'Present when the server is configured with LIVEKIT_URL/API_KEY/API_SECRET.' }),
  })
  .openapi('SessionToken');

const token = createRoute({
  method: 'post',
  path: '/v1/sessions/{id}/token',
  operationId: 'createSessionToken',
  summary: `A short-lived token (${SESSION_TOKEN_TTL_S} s) for an end user to connect to a realtime session`,
  tags,
  security: SECURITY,
  request: { params: sessionId },
  responses: {
    201: { content: { 'application/json': { schema: TokenSchema } }, description: 'Token' },
    404: problemResponse('No such session'),
    409: problemResponse('Session over, or not realtime'),
    429: problemResponse('The server streams as many live sessions as it can (Retry-After)'),
    503: problemResponse('LiveKit configured but not reachable'),
  },
});

const speak = createRoute({
  method: 'post',
  path: '/v1/sessions/{id}/speak',
  operationId: 'speak',
  summary: 'Queue text for the live character to say',
  description:
    'Returns at once; the utterance plays behind what is already speaking. Follow it on the events stream.',
  tags,
  security: SECURITY,
  request: {
    params: sessionId,
    body: { content: { 'application/json': { schema: SpeakBody } }, required: true },
  },
  responses: {
    202: {
      content: { 'application/json': { schema: z.object({ utterance_id: z.string() }) } },
      description: 'Queued',
    },
    400: problemResponse('Invalid fields'),
    409: problemResponse('Session over, or not realtime'),
    422: problemResponse('Text too long, unsupported characters, unknown voice'),
  },
});

const interrupt = createRoute({
  method: 'post',
  path: '/v1/sessions/{id}/interrupt',
  operationId: 'interrupt',
  summary: 'Stop speaking now and drop everything queued',
  tags,
  security: SECURITY,
  request: { params: sessionId },
  responses: {
    200: {
      content: { 'application/json': { schema: z.object({ dropped: z.number().int() }) } },
      description: 'Stopped',
    },
    409: problemResponse('Session over, or not realtime'),
  },
});

const whep = createRoute({
  method: 'post',
  path: '/v1/sessions/{id}/whep',
  operationId: 'whepConnect',
  summary: 'WHEP (RFC 9725): send an SDP offer, receive the answer; audio and video in one peer connection',
  description:
    'Authorization: Bearer <session token or API key>. Content-Type: application/sdp. Non-trickle: the answer holds all candidates.',
  tags,
  security: SECURITY,
  request: {
    params: sessionId,
    body: { content: { 'application/sdp': { schema: z.string() } }, required: true },
  },
  responses: {
    201: {
      content: { 'application/sdp': { schema: z.string() } },
      description: 'SDP answer; Location is the resource to DELETE',
    },
    400: problemResponse('Not an SDP offer'),
    409: problemResponse('Session over, or not realtime'),
    413: problemResponse('SDP offer over 64 KiB'),
    415: problemResponse('Not application/sdp'),
    429: problemResponse('Session has its 4 viewers, or the server is at capacity (Retry-After)'),
  },
});

const whepDelete = createRoute({
  method: 'delete',
  path: '/v1/sessions/{id}/whep/{peer}',
  operationId: 'whepDisconnect',
  summary: 'End a WHEP connection',
  tags,
  security: SECURITY,
  request: { params: z.object({ id: z.string().max(64), peer: z.string().max(64) }) },
  responses: { 204: { description: 'Closed' }, 404: problemResponse('No such connection') },
});

const events = createRoute({
  method: 'get',
  path: '/v1/sessions/{id}/events',
  operationId: 'sessionEvents',
  summary:
    'Server-Sent Events: utterance.queued/started/finished, session.state, metrics; user.transcript, reply.delta, reply.finished, reply.failed',
  description:
    'utterance.finished comes exactly once per utterance with {playback_position_ms, interrupted}, counted from ' +
    'audio actually sent. A message (POST /messages) shows as user.transcript, then reply.delta as the reply is ' +
    'written, then reply.finished {text (what was said aloud), interrupted, utterance_id, metrics} or ' +
    'reply.failed {problem}. Browsers may pass the session token as ?token=.',
  tags,
  security: SECURITY,
  request: { params: sessionId },
  responses: {
    200: { content: { 'text/event-stream': { schema: z.string() } }, description: 'Event stream' },
  },
});

export function registerRealtimeRoutes(app: Api, services: () => Services) {
  app.openapi(token, async (c) => {
    const s = services();
    const { id } = c.req.valid('param');
    const session = await s.sessions.get(c.get('auth').tenantId, id);
    if (session.status === 'ended' || session.status === 'expired')
      throw new Problem('session-not-live', `Session ${id} is ${session.status}.`);
    if (session.mode !== 'realtime')
      throw new Problem('wrong-session-mode', `Session ${id} is not a realtime session.`);
    const issued = s.tokens.issue(id, c.get('auth').tenantId);
    const livekit = s.config.livekit
      ? await s.live.connectLiveKit(c.get('auth').tenantId, id, SESSION_TOKEN_TTL_S)
      : undefined;
    return c.json(
      {
        ...issued,
        whep_url: `/v1/sessions/${id}/whep`,
        events_url: `/v1/sessions/${id}/events`,
        ...(livekit ? { livekit } : {}),
      },
      201,
    );
  });

  app.openapi(speak, async (c) => {
    const body = c.req.valid('json');
    const voice = body.voice !== undefined ? services().speech.resolveVoice(body.voice) : undefined;
    const utteranceId = await services().live.speak(c.get('auth').tenantId, c.req.valid('param').id, {
      text: body.text,
      voice,
      mood: body.mood,
      rate: body.rate,
    });
    return c.json({ utterance_id: utteranceId }, 202);
  });

  app.openapi(interrupt, async (c) => {
    const dropped = await services().live.interrupt(c.get('auth').tenantId, c.req.valid('param').id);
    return c.json({ dropped }, 200);
  });

  app.openapi(whep, (async (c: Context<AppEnv>) => {
    if (!(c.req.header('content-type') ?? '').startsWith('application/sdp')) {
      throw new Problem('unsupported-media-type', 'Send the SDP offer with Content-Type: application/sdp.');
    }
    const offer = await c.req.text(); // the body limit (app.ts) has already held it to MAX_SDP_BYTES
    if (hasControlCharacters(offer))
      throw new Problem('validation-error', 'The SDP offer contains control characters.');
    const id = c.req.param('id')!;
    const { peerId, answer } = await services().live.connectWhep(c.get('auth').tenantId, id, offer);
    return c.body(answer, 201, {
      'Content-Type': 'application/sdp',
      Location: `/v1/sessions/${id}/whep/${peerId}`,
    });
  }) as never);

  app.openapi(whepDelete, async (c) => {
    const { id, peer } = c.req.valid('param');
    await services().live.disconnect(c.get('auth').tenantId, id, peer);
    return c.body(null, 204);
  });

  app.openapi(events, (async (c: Context<AppEnv>) => {
    const s = services();
    const id = c.req.param('id')!;
    const tenantId = c.get('auth').tenantId;
    const session = await s.sessions.get(tenantId, id);
    if (session.mode !== 'realtime')
      throw new Problem('wrong-session-mode', `Session ${id} is not a realtime session.`);
    return streamSSE(c, async (stream) => {
      const queue: { event: string; data: string }[] = [];
      let wake: (() => void) | undefined;
      const push = (event: string, data: unknown) => {
        queue.push({ event, data: JSON.stringify(data) });
        wake?.();
      };
      push('session.state', { status: session.status });
      const unsubscribeMedia =
        session.status === 'created' || session.status === 'active'
          ? await s.live.subscribe(tenantId, id, (e) => push(e.type, e))
          : () => undefined;
      const unsubscribeConversation = s.conversations.subscribe(id, (e) => push(e.type, e));
      const unsubscribe = () => {
        unsubscribeMedia();
        unsubscribeConversation();
      };
      const onTransition = (e: { session: { id: string; status: string; end_reason: string | null } }) => {
        if (e.session.id === id)
          push('session.state', { status: e.session.status, reason: e.session.end_reason });
      };
      s.sessions.on('transition', onTransition);
      let open = true;
      const stop = () => {
        open = false;
        wake?.();
      };
      stream.onAbort(stop);
      // Shutdown ends every stream, whether or not its client is still reading.
      s.stopping.addEventListener('abort', stop, { once: true });
      try {
        while (open) {
          while (queue.length) {
            const item = queue.shift()!;
            await stream.writeSSE(item);
            if (item.event === 'session.state' && /"(ended|expired)"/.test(item.data)) open = false;
          }
          if (!open) break;
          await new Promise<void>((resolve) => {
            wake = resolve;
            // A comment line keeps proxies from closing an idle stream; the timer never holds the process.
            setTimeout(resolve, 15_000).unref();
          });
          wake = undefined;
          if (stream.aborted || stream.closed) break;
          if (open && queue.length === 0) await stream.write(': keep-alive\n\n');
        }
      } finally {
        unsubscribe();
        s.sessions.off('transition', onTransition);
        s.stopping.removeEventListener('abort', stop);
      }
    });
  }) as never);
}
