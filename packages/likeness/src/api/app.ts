import path from 'node:path';
import { OpenAPIHono } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { Config } from '../config.ts';
import { Problem } from '../errors.ts';
import { newId } from '../ids.ts';
import { logContext } from '../log-context.ts';
import type { Services } from '../services.ts';
import { limitBodies } from './body-limit.ts';
import { requireCleanStrings } from './input-rules.ts';
import { registerCharacterRoutes } from './routes/characters.ts';
import { registerConversationRoutes } from './routes/conversation.ts';
import { registerDiscoveryRoutes } from './routes/discovery.ts';
import { registerAnimationRoutes, registerGenerateRoutes } from './routes/generate.ts';
import { registerMcpRoute } from './routes/mcp.ts';
import { registerMetricsRoute } from './routes/metrics.ts';
import { MAX_SDP_BYTES, registerRealtimeRoutes } from './routes/realtime.ts';
import { registerSessionRoutes } from './routes/sessions.ts';
import { registerTenancyRoutes } from './routes/tenancy.ts';
import { registerUsageRoutes } from './routes/usage.ts';
import { registerVideoRoutes } from './routes/videos.ts';
import { registerVoiceRoutes } from './routes/voices.ts';
import { registerWebhookRoutes } from './routes/webhooks.ts';
import type { AppEnv } from './types.ts';

export const API_INFO = {
  title: 'Likeness API',
  version: '0.1.0',
  description:
    'Self-hostable realtime avatar API: characters from one portrait, speaking as MP4 or live over WebRTC.',
};

function problemResponse(c: Context, problem: Problem): Response {
  const headers: Record<string, string> = { 'Content-Type': 'application/problem+json' };
  const retry = problem.extensions.retry_after_s;
  if (typeof retry === 'number') headers['Retry-After'] = String(Math.max(1, Math.ceil(retry)));
  // The rest of an oversized body is not worth reading: tell the client this connection is done.
  if (problem.status === 413) headers.Connection = 'close';
  return c.newResponse(JSON.stringify(problem.toBody(c.req.path)), problem.status as 400, headers);
}

/** Body limits per route (README "Limits"): uploads, SDP offers, and JSON for everything else. */
function bodyLimitFor(config: Config) {
  const upload = Math.max(config.limits.maxImageBytes, config.limits.maxVideoBytes) + 64 * 1024;
  const audio = config.limits.maxAudioBytes + 64 * 1024;
  return (method: string, path: string, contentType: string) => {
    if (method === 'POST' && path === '/v1/characters') return { bytes: upload, what: 'A character upload' };
    // MCP's create_character may carry the portrait inline, as a base64 data: URL.
    if (method === 'POST' && path === '/mcp')
      return { bytes: Math.ceil((config.limits.maxImageBytes * 4) / 3) + 64 * 1024, what: 'An MCP request' };
    if (
      method === 'POST' &&
      /^\/v1\/sessions\/[^/]+\/messages$/.test(path) &&
      contentType.startsWith('multipart/form-data')
    )
      return { bytes: audio, what: 'An audio message' };
    if (/^\/v1\/sessions\/[^/]+\/whep$/.test(path)) return { bytes: MAX_SDP_BYTES, what: 'An SDP offer' };
    return { bytes: config.limits.maxJsonBytes, what: 'A request body' };
  };
}

/**
 * The HTTP surface. `services` is a thunk so the spec can be generated (scripts/generate.ts) without a
 * database: route definitions never touch services until a request arrives.
 */
export function createApp(services: () => Services) {
  const app = new OpenAPIHono<AppEnv>({
    defaultHook: (result) => {
      // Every validated input (path, query, JSON, form) passes here: one rule for strings at the edge.
      if (result.success) {
        requireCleanStrings(result.data);
        return;
      }
      const errors = result.error.issues.map((i) => ({
        path: i.path.join('.') || '(body)',
        message: i.message,
      }));
      throw new Problem(
        'validation-error',
        `Invalid request: ${errors.map((e) => `${e.path}: ${e.message}`).join('; ')}`,
        { errors },
      );
    },
  });
  const startedAt = Date.now();

  app.openAPIRegistry.registerComponent('securitySchemes', 'bearerAuth', {
    type: 'http',
    scheme: 'bearer',
    description:
      'An API key: printed at first start, set with LIKENESS_API_KEY, or created with POST /v1/keys.',
  });

  // First, before anything reads a byte of the body or touches the database.
  let limits: ReturnType<typeof bodyLimitFor> | undefined;
  app.use(
    '*',
    limitBodies({
      limitFor: (method, path, contentType) => {
        limits ??= bodyLimitFor(services().config);
        return limits(method, path, contentType);
      },
      tmpDir: () => path.join(services().config.dataDir, 'tmp'),
    }),
  );

  app.use('*', async (c, next) => {
    const started = performance.now();
    const requestId = newId('req');
    c.set('requestId', requestId);
    const sessionId = /\/v1\/sessions\/(ses_[0-9a-z]+)/.exec(c.req.path)?.[1];
    // Every line logged while this request is handled carries its ids (log-context.ts).
    await logContext.run({ req_id: requestId, ...(sessionId ? { session_id: sessionId } : {}) }, next);
    c.header('X-Request-Id', requestId);
    const ms = Math.round((performance.now() - started) * 10) / 10;
    services().logger.info(
      {
        req_id: requestId,
        ...(sessionId ? { session_id: sessionId } : {}),
        method: c.req.method,
        path: c.req.path,
        status: c.res.status,
        ms,
      },
      'request',
    );
  });

  app.use('/v1/*', async (c, next) => {
    const header = c.req.header('authorization') ?? '';
    // EventSource cannot send headers: the event streams also take ?token=, but only a session token.
    // API keys never go in URLs (they end up in logs, histories and Referer headers).
    const query = /\/(events|animation\/stream)$/.test(c.req.path) ? c.req.query('token') : undefined;
    if (query !== undefined && !query.startsWith('lst_')) {
      throw new Problem(
        'unauthorized',
        '?token= takes a session token (POST /v1/sessions/{id}/token), never an API key: send keys as "Authorization: Bearer <key>".',
      );
    }
    const match = query ? [query, query] : /^Bearer\s+(\S+)$/i.exec(header);
    if (!match) throw new Problem('unauthorized', 'Send your API key as "Authorization: Bearer <key>".');
    const credential = match[1]!;
    if (credential.startsWith('lst_')) {
      // A session token opens its own session's media (WHEP, events) and nothing else.
      const claims = services().tokens.verify(credential);
      const scoped = new RegExp(`^/v1/sessions/${claims?.sid}/(whep(/[^/]+)?|events|animation/stream)$`);
      if (!claims || !scoped.test(c.req.path)) {
        throw new Problem('unauthorized', 'The session token is expired, invalid, or not for this resource.');
      }
      c.set('auth', { tenantId: claims.tid, keyId: 'session-token', role: 'member' });
      return next();
    }
    const auth = await services().tenancy.authenticate(credential);
    if (!auth) throw new Problem('unauthorized', 'The API key is unknown or has been revoked.');
    c.set('auth', auth);
    await next();
  });

  registerCharacterRoutes(app, services);
  registerSessionRoutes(app, services);
  registerGenerateRoutes(app, services);
  registerAnimationRoutes(app, services);
  registerRealtimeRoutes(app, services);
  registerConversationRoutes(app, services);
  registerUsageRoutes(app, services);
  registerTenancyRoutes(app, services);
  registerVoiceRoutes(app, services);
  registerVideoRoutes(app, services);
  registerWebhookRoutes(app, services);
  registerMcpRoute(app, services, API_INFO.version);
  registerMetricsRoute(app, services);

  const spec = () => app.getOpenAPI31Document({ openapi: '3.1.0', info: API_INFO });
  registerDiscoveryRoutes(app, { services, spec: spec as never, startedAt });

  // Every problem response is counted (likeness_errors_total) on its way out.
  const respond = (c: Context, problem: Problem) => {
    services().metrics.problem(problem.slug, problem.status);
    return problemResponse(c, problem);
  };
  app.notFound((c) => respond(c, new Problem('not-found', `No route for ${c.req.method} ${c.req.path}.`)));
  app.onError((err, c) => {
    if (err instanceof Problem) return respond(c, err);
    if (err instanceof HTTPException) {
      const slug =
        err.status === 413 ? 'payload-too-large' : err.status === 401 ? 'unauthorized' : 'validation-error';
      return respond(c, new Problem(slug, err.message || 'The request could not be read.'));
    }
    services().logger.error({ err, path: c.req.path }, 'unhandled error');
    return respond(
      c,
      new Problem('internal-error', `Unexpected error (request ${c.get('requestId')}). It has been logged.`),
    );
  });

  return { app, spec };
}
