import { createRoute, z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { ARKIT_BLENDSHAPES } from '../../animation/blendshapes.ts';
import { Problem } from '../../errors.ts';
import { MOODS } from '../../persona/persona.ts';
import { FPS } from '../../realtime/media-session.ts';
import type { Services } from '../../services.ts';
import { isLive } from '../../sessions/lifecycle.ts';
import { SESSION_TOKEN_TTL_S } from '../../tenancy/session-token.ts';
import { hasControlCharacters } from '../input-rules.ts';
import { IdParam, problemResponse } from '../schemas.ts';
import { sessionEventStream } from '../session-stream.ts';
import { type Api, type AppEnv, SECURITY } from '../types.ts';

const tags = ['Realtime'];
const sessionId = IdParam('Session', 'ses_01hz8x4m2k3n5p6q7r8s9t0v1w');
export const MAX_SDP_BYTES = 64 * 1024;

const SpeakBody = z
  .object({
    text: z.string().max(100_000),
    voice: z.string().max(80).optional(),
    mood: z.enum(MOODS).optional(),
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
    'utterance.started carries {queued_ms (from the speak to its first sample sent), first_audio_ms (of which, ' +
    'synthesis)}. utterance.finished comes exactly once per utterance with {playback_position_ms, interrupted}, ' +
    'counted from audio actually sent. A message (POST /messages) shows as user.transcript, then reply.delta as the reply is ' +
    'written, then reply.finished {text (what was said aloud), interrupted, utterance_id, metrics} or ' +
    'reply.failed {problem}. A microphone adds user.started_speaking, user.transcript partials, user.ignored, ' +
    'user.barge_in, and reply.held / reply.resumed (speech over the answer holds it; a backchannel lets it go on). ' +
    'Browsers may pass the session token as ?token=.',
  tags,
  security: SECURITY,
  request: { params: sessionId },
  responses: {
    200: { content: { 'text/event-stream': { schema: z.string() } }, description: 'Event stream' },
  },
});

const animationStream = createRoute({
  method: 'get',
  path: '/v1/sessions/{id}/animation/stream',
  operationId: 'sessionAnimationStream',
  summary:
    'Server-Sent Events: each live frame’s ARKit blendshapes and head pose, for clients with their own face',
  description:
    'First `animation.names` {names: the 52 ARKit names, fps}, then one `frame` event per video frame: ' +
    '{n, t (session audio time, s), viseme, weights (in names order), head [yaw, pitch, roll] degrees}, sent ' +
    'as the frame’s audio leaves the server, so it plays in step with the session’s audio track (WHEP or ' +
    'LiveKit; in LiveKit rooms the same frames are on the data topic likeness.animation). A slow reader loses ' +
    'the oldest frames, never the newest. Browsers may pass the session token as ?token=.',
  tags,
  security: SECURITY,
  request: { params: sessionId },
  responses: {
    200: { content: { 'text/event-stream': { schema: z.string() } }, description: 'Event stream' },
    404: problemResponse('No such session'),
    409: problemResponse('Not a realtime session, or it has ended'),
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

  app.openapi(animationStream, (async (c: Context<AppEnv>) => {
    const s = services();
    const id = c.req.param('id')!;
    const tenantId = c.get('auth').tenantId;
    const session = await s.live.authorize(tenantId, id);
    return sessionEventStream(c, s, session, {
      droppable: 'frame',
      maxQueued: 50,
      subscribe: async (push) => {
        push('animation.names', { names: ARKIT_BLENDSHAPES, head: ['yaw', 'pitch', 'roll'], fps: FPS });
        return s.live.subscribeAnimation(tenantId, id, (frame) => push('frame', frame));
      },
    });
  }) as never);

  app.openapi(events, (async (c: Context<AppEnv>) => {
    const s = services();
    const id = c.req.param('id')!;
    const tenantId = c.get('auth').tenantId;
    const session = await s.sessions.get(tenantId, id);
    if (session.mode !== 'realtime')
      throw new Problem('wrong-session-mode', `Session ${id} is not a realtime session.`);
    return sessionEventStream(c, s, session, {
      subscribe: async (push) => {
        const unsubscribeMedia = isLive(session.status)
          ? await s.live.subscribe(tenantId, id, (e) => push(e.type, e))
          : () => undefined;
        const unsubscribeConversation = s.conversations.subscribe(id, (e) => push(e.type, e));
        return () => {
          unsubscribeMedia();
          unsubscribeConversation();
        };
      },
    });
  }) as never);
}
