import { createRoute, z } from '@hono/zod-openapi';
import { Problem } from '../../errors.ts';
import type { Services } from '../../services.ts';
import { type AuthContext, can } from '../../tenancy/tenancy-service.ts';
import { WEBHOOK_EVENTS, type WebhookEventType } from '../../webhooks/events.ts';
import type { DeliveryRow, WebhookRow } from '../../webhooks/webhook-service.ts';
import { IdParam, PageQuery, problemResponse } from '../schemas.ts';
import { type Api, SECURITY } from '../types.ts';

const tags = ['Webhooks'];
const EventEnum = z.enum(WEBHOOK_EVENTS as [WebhookEventType, ...WebhookEventType[]]);

const CreateWebhookBody = z
  .object({
    url: z.string().min(1).max(2048).openapi({
      description: 'http(s) URL that receives POSTed events; its host name must resolve.',
      example: 'https://example.com/hooks/likeness',
    }),
    events: z.array(EventEnum).min(1).max(WEBHOOK_EVENTS.length).openapi({
      description:
        'session.started, session.ended (with media seconds), video.ready, video.failed, usage.threshold (80 % and 100 % of a session’s media cap).',
    }),
    description: z.string().max(200).optional(),
  })
  .strict()
  .openapi('CreateWebhookRequest');

const WebhookSchema = z
  .object({
    id: z.string(),
    url: z.string(),
    events: z.array(EventEnum),
    description: z.string().nullable(),
    created_at: z.string(),
  })
  .openapi('Webhook');

const WebhookWithSecretSchema = WebhookSchema.extend({
  secret: z.string().openapi({
    description:
      'Signing secret ("whsec_" + base64), shown only here. Verify deliveries with any Standard Webhooks library.',
  }),
}).openapi('WebhookWithSecret');

const AttemptSchema = z.object({
  at: z.string(),
  status: z.number().int().optional().openapi({ description: 'The receiver’s HTTP status, if it answered.' }),
  error: z.string().optional().openapi({ description: 'Why no answer came (refused, timed out, ...).' }),
  ms: z.number(),
});

const DeliverySchema = z
  .object({
    id: z.string().openapi({ description: 'Also the webhook-id header: the same on every attempt.' }),
    webhook_id: z.string(),
    event: EventEnum,
    status: z.enum(['pending', 'delivered', 'failed', 'cancelled']),
    attempts: z.array(AttemptSchema),
    next_attempt_at: z.string().nullable(),
    created_at: z.string(),
    finished_at: z.string().nullable(),
    payload: z
      .record(z.string(), z.unknown())
      .openapi({ description: 'The body that was (or will be) sent.' }),
  })
  .openapi('WebhookDelivery');

const webhookId = IdParam('Webhook', 'wh_01hz8x4m2k3n5p6q7r8s9t0v1w');

const createWebhook = createRoute({
  method: 'post',
  path: '/v1/webhooks',
  operationId: 'createWebhook',
  summary: 'Register a webhook endpoint (the signing secret is shown once)',
  description:
    'Deliveries follow Standard Webhooks: headers webhook-id, webhook-timestamp and webhook-signature ' +
    '(v1,<base64 HMAC-SHA256 of "id.timestamp.body">). Each delivery is stored before it is sent, retried with ' +
    'backoff on errors, timeouts and non-2xx answers (LIKENESS_WEBHOOK_RETRY_S), and resumed after a restart.',
  tags,
  security: SECURITY,
  request: { body: { content: { 'application/json': { schema: CreateWebhookBody } }, required: true } },
  responses: {
    201: { content: { 'application/json': { schema: WebhookWithSecretSchema } }, description: 'Created' },
    400: problemResponse('Invalid fields or unknown events'),
    403: problemResponse('Only admin (or operator) keys manage webhooks'),
    422: problemResponse('The URL cannot receive webhooks (not http(s), credentials, host does not resolve)'),
  },
});

const listWebhooks = createRoute({
  method: 'get',
  path: '/v1/webhooks',
  operationId: 'listWebhooks',
  summary: 'List webhook endpoints (no secrets)',
  tags,
  security: SECURITY,
  responses: {
    200: {
      content: { 'application/json': { schema: z.object({ data: z.array(WebhookSchema) }) } },
      description: 'The endpoints',
    },
    403: problemResponse('Only admin (or operator) keys manage webhooks'),
  },
});

const deleteWebhook = createRoute({
  method: 'delete',
  path: '/v1/webhooks/{id}',
  operationId: 'deleteWebhook',
  summary: 'Delete a webhook endpoint; its pending deliveries are cancelled',
  tags,
  security: SECURITY,
  request: { params: webhookId },
  responses: {
    204: { description: 'Deleted' },
    403: problemResponse('Only admin (or operator) keys manage webhooks'),
    404: problemResponse('No such webhook'),
  },
});

const listDeliveries = createRoute({
  method: 'get',
  path: '/v1/webhooks/{id}/deliveries',
  operationId: 'listWebhookDeliveries',
  summary: 'Deliveries to an endpoint, oldest first, with every attempt',
  tags,
  security: SECURITY,
  request: { params: webhookId, query: PageQuery },
  responses: {
    200: {
      content: {
        'application/json': {
          schema: z.object({ data: z.array(DeliverySchema), next_cursor: z.string().nullable() }),
        },
      },
      description: 'A page of deliveries',
    },
    403: problemResponse('Only admin (or operator) keys manage webhooks'),
    404: problemResponse('No such webhook'),
  },
});

function requireWebhookManager(auth: AuthContext): void {
  if (!can.manageWebhooks(auth.role))
    throw new Problem(
      'forbidden',
      'Only an admin key of this tenant (or the operator key) manages webhooks.',
    );
}

const view = (w: WebhookRow) => ({
  id: w.id,
  url: w.url,
  events: w.events,
  description: w.description,
  created_at: w.created_at.toISOString(),
});

const deliveryView = (d: DeliveryRow) => ({
  id: d.id,
  webhook_id: d.webhook_id,
  event: d.event as WebhookEventType,
  status: d.status,
  attempts: d.attempts,
  next_attempt_at: d.next_attempt_at?.toISOString() ?? null,
  created_at: d.created_at.toISOString(),
  finished_at: d.finished_at?.toISOString() ?? null,
  payload: JSON.parse(d.payload) as Record<string, unknown>,
});

export function registerWebhookRoutes(app: Api, services: () => Services) {
  app.openapi(createWebhook, async (c) => {
    const auth = c.get('auth');
    requireWebhookManager(auth);
    const row = await services().webhooks.create(auth.tenantId, c.req.valid('json'));
    return c.json({ ...view(row), secret: row.secret }, 201, { Location: `/v1/webhooks/${row.id}` });
  });
  app.openapi(listWebhooks, async (c) => {
    const auth = c.get('auth');
    requireWebhookManager(auth);
    return c.json({ data: (await services().webhooks.list(auth.tenantId)).map(view) }, 200);
  });
  app.openapi(deleteWebhook, async (c) => {
    const auth = c.get('auth');
    requireWebhookManager(auth);
    await services().webhooks.remove(auth.tenantId, c.req.valid('param').id);
    return c.body(null, 204);
  });
  app.openapi(listDeliveries, async (c) => {
    const auth = c.get('auth');
    requireWebhookManager(auth);
    const page = await services().webhooks.deliveries(
      auth.tenantId,
      c.req.valid('param').id,
      c.req.valid('query'),
    );
    return c.json({ data: page.data.map(deliveryView), next_cursor: page.next_cursor }, 200);
  });
}
