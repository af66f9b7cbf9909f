import { createRoute, z } from '@hono/zod-openapi';
import { DEFAULT_BARGE_IN_SETTING } from '../../conversation/listener.ts';
import type { Services } from '../../services.ts';
import { type EndReason, expiryDue, isLive } from '../../sessions/lifecycle.ts';
import type { SessionRow } from '../../sessions/session-service.ts';
import {
  CreateSessionBody,
  IdParam,
  PageQuery,
  problemResponse,
  SessionListSchema,
  SessionSchema,
} from '../schemas.ts';
import { type Api, SECURITY } from '../types.ts';

const tags = ['Sessions'];
const sessionId = IdParam('Session', 'ses_01hz8x4m2k3n5p6q7r8s9t0v1w');
const json = (description: string) => ({
  content: { 'application/json': { schema: SessionSchema } },
  description,
});

export function sessionView(s: SessionRow) {
  const iso = (d: Date | null) => (d ? d.toISOString() : null);
  return {
    id: s.id,
    character_id: s.character_id,
    user_id: s.user_id,
    mode: s.mode,
    status: s.status,
    end_reason: s.end_reason as EndReason | null,
    max_duration_s: s.max_duration_s,
    idle_timeout_s: s.idle_timeout_s,
    greeting: s.greeting,
    barge_in: s.barge_in ?? DEFAULT_BARGE_IN_SETTING,
    created_at: s.created_at.toISOString(),
    activated_at: iso(s.activated_at),
    finished_at: iso(s.finished_at),
    last_activity_at: s.last_activity_at.toISOString(),
    expires_at: isLive(s.status) ? expiryDue(s).at.toISOString() : null,
    transitions: s.transitions,
  };
}

const createSession = createRoute({
  method: 'post',
  path: '/v1/sessions',
  operationId: 'createSession',
  summary: 'Open a session with a character',
  description:
    'A session starts as "created", becomes "active" with its first work (media, keepalive), and ends as ' +
    '"ended" (DELETE) or "expired" (idle timeout or max duration). Ended and expired sessions refuse work with 409.',
  tags,
  security: SECURITY,
  request: { body: { content: { 'application/json': { schema: CreateSessionBody } }, required: true } },
  responses: {
    201: json('Created'),
    400: problemResponse('Invalid fields'),
    404: problemResponse('No such character'),
    429: problemResponse('Too many concurrent sessions'),
  },
});

const listSessions = createRoute({
  method: 'get',
  path: '/v1/sessions',
  operationId: 'listSessions',
  summary: 'List sessions, oldest first',
  tags,
  security: SECURITY,
  request: {
    query: PageQuery.extend({ status: z.enum(['created', 'active', 'ended', 'expired']).optional() }),
  },
  responses: {
    200: {
      content: { 'application/json': { schema: SessionListSchema } },
      description: 'A page of sessions',
    },
  },
});

const getSession = createRoute({
  method: 'get',
  path: '/v1/sessions/{id}',
  operationId: 'getSession',
  summary: 'Get a session',
  tags,
  security: SECURITY,
  request: { params: sessionId },
  responses: { 200: json('The session'), 404: problemResponse('No such session') },
});

const endSession = createRoute({
  method: 'delete',
  path: '/v1/sessions/{id}',
  operationId: 'endSession',
  summary: 'End a session (idempotent)',
  tags,
  security: SECURITY,
  request: { params: sessionId },
  responses: { 200: json('The ended session'), 404: problemResponse('No such session') },
});

const keepalive = createRoute({
  method: 'post',
  path: '/v1/sessions/{id}/keepalive',
  operationId: 'keepaliveSession',
  summary: 'Mark activity: activates a created session and resets its idle timer',
  tags,
  security: SECURITY,
  request: { params: sessionId },
  responses: {
    200: json('The session'),
    404: problemResponse('No such session'),
    409: problemResponse('The session has ended or expired'),
  },
});

export function registerSessionRoutes(app: Api, services: () => Services) {
  app.openapi(createSession, async (c) => {
    const session = await services().sessions.create(c.get('auth').tenantId, c.req.valid('json'));
    // Its first message will be answered from this character's persona and this user's memory: read them now.
    services().conversations.prepareReply(session.tenant_id, session.id);
    return c.json(sessionView(session), 201, { Location: `/v1/sessions/${session.id}` });
  });
  app.openapi(listSessions, async (c) => {
    const page = await services().sessions.list(c.get('auth').tenantId, c.req.valid('query'));
    return c.json({ data: page.data.map(sessionView), next_cursor: page.next_cursor }, 200);
  });
  app.openapi(getSession, async (c) => {
    return c.json(
      sessionView(await services().sessions.get(c.get('auth').tenantId, c.req.valid('param').id)),
      200,
    );
  });
  app.openapi(endSession, async (c) => {
    return c.json(
      sessionView(await services().sessions.end(c.get('auth').tenantId, c.req.valid('param').id)),
      200,
    );
  });
  app.openapi(keepalive, async (c) => {
    return c.json(
      sessionView(await services().sessions.touch(c.get('auth').tenantId, c.req.valid('param').id)),
      200,
    );
  });
}
