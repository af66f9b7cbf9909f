import { createRoute, z } from '@hono/zod-openapi';
import { Problem } from '../../errors.ts';
import type { Services } from '../../services.ts';
import { type AuthContext, can } from '../../tenancy/tenancy-service.ts';
import { SANDBOX_MONTHLY_MINUTES } from '../../usage/quota.ts';
import {
  ApiKeySchema,
  ApiKeyWithSecretSchema,
  CreateKeyBody,
  CreateTenantBody,
  IdParam,
  PlanSchema,
  problemResponse,
  TenantSchema,
} from '../schemas.ts';
import { type Api, SECURITY } from '../types.ts';

const tags = ['Keys and tenants'];

const createKey = createRoute({
  method: 'post',
  path: '/v1/keys',
  operationId: 'createKey',
  summary: 'Create an API key in your tenant (the secret is shown once)',
  tags,
  security: SECURITY,
  request: { body: { content: { 'application/json': { schema: CreateKeyBody } }, required: true } },
  responses: {
    201: { content: { 'application/json': { schema: ApiKeyWithSecretSchema } }, description: 'Created' },
    403: problemResponse('Only admin (or operator) keys manage keys'),
  },
});

const listKeys = createRoute({
  method: 'get',
  path: '/v1/keys',
  operationId: 'listKeys',
  summary: 'List the API keys of your tenant (no secrets)',
  tags,
  security: SECURITY,
  responses: {
    200: {
      content: { 'application/json': { schema: z.object({ data: z.array(ApiKeySchema) }) } },
      description: 'Keys',
    },
    403: problemResponse('Only admin (or operator) keys manage keys'),
  },
});

const revokeKey = createRoute({
  method: 'delete',
  path: '/v1/keys/{id}',
  operationId: 'revokeKey',
  summary: 'Revoke an API key; it stops working at once',
  tags,
  security: SECURITY,
  request: { params: IdParam('Key', 'key_01hz8x4m2k3n5p6q7r8s9t0v1w') },
  responses: {
    204: { description: 'Revoked' },
    403: problemResponse('Only admin (or operator) keys manage keys'),
    404: problemResponse('No such active key'),
  },
});

const createTenant = createRoute({
  method: 'post',
  path: '/v1/tenants',
  operationId: 'createTenant',
  summary: 'Create a tenant with its first admin key (operator key only)',
  description:
    'A tenant sees only what its keys create, plus the default cast, which every tenant gets. Only the operator ' +
    'key (LIKENESS_API_KEY, or the key printed at first start) may create tenants.',
  tags,
  security: SECURITY,
  request: { body: { content: { 'application/json': { schema: CreateTenantBody } }, required: true } },
  responses: {
    201: {
      content: {
        'application/json': { schema: z.object({ tenant: TenantSchema, api_key: ApiKeyWithSecretSchema }) },
      },
      description: 'Created',
    },
    403: problemResponse('Not the operator key'),
  },
});

const setPlan = createRoute({
  method: 'patch',
  path: '/v1/tenants/{id}',
  operationId: 'setTenantPlan',
  summary: 'Change a tenant’s plan (operator key only)',
  description:
    'The plan is media minutes a calendar month (UTC), live and on demand together; null is unlimited. Past it, ' +
    'new sessions and renders are refused with 402 quota-exceeded and live sessions end (warned at 80 %).',
  tags,
  security: SECURITY,
  request: {
    params: IdParam('Tenant', 'ten_01hz8x4m2k3n5p6q7r8s9t0v1w'),
    body: {
      content: { 'application/json': { schema: z.object({ plan: PlanSchema }).strict() } },
      required: true,
    },
  },
  responses: {
    200: { content: { 'application/json': { schema: TenantSchema } }, description: 'The tenant' },
    400: problemResponse('Negative or absurd minutes'),
    403: problemResponse('Not the operator key'),
    404: problemResponse('No such tenant'),
  },
});

const tenantView = (t: { id: string; name: string; created_at: Date; monthly_minutes: number | null }) => ({
  id: t.id,
  name: t.name,
  created_at: t.created_at.toISOString(),
  plan: { monthly_minutes: t.monthly_minutes === null ? null : Number(t.monthly_minutes) },
});

function requireKeyManager(auth: AuthContext): void {
  if (!can.manageKeys(auth.role))
    throw new Problem(
      'forbidden',
      'Only an admin key of this tenant (or the operator key) manages API keys.',
    );
}

export function registerTenancyRoutes(app: Api, services: () => Services) {
  app.openapi(createKey, async (c) => {
    const auth = c.get('auth');
    requireKeyManager(auth);
    const body = c.req.valid('json');
    const role = body.role ?? 'member';
    if (!can.grant(auth.role, role))
      throw new Problem('forbidden', `A ${auth.role} key cannot create ${role} keys.`);
    return c.json(await services().tenancy.createKey(auth.tenantId, { name: body.name, role }), 201);
  });
  app.openapi(listKeys, async (c) => {
    requireKeyManager(c.get('auth'));
    return c.json({ data: await services().tenancy.listKeys(c.get('auth').tenantId) }, 200);
  });
  app.openapi(revokeKey, async (c) => {
    requireKeyManager(c.get('auth'));
    await services().tenancy.revokeKey(c.get('auth').tenantId, c.req.valid('param').id);
    return c.body(null, 204);
  });
  app.openapi(createTenant, async (c) => {
    if (!can.createTenants(c.get('auth').role))
      throw new Problem('forbidden', 'Only the operator key creates tenants; ask whoever runs this server.');
    const s = services();
    const body = c.req.valid('json');
    const minutes = body.plan ? body.plan.monthly_minutes : SANDBOX_MONTHLY_MINUTES;
    const tenant = await s.tenancy.createTenant(body.name, minutes);
    await s.characters.seedCast(tenant.id);
    const apiKey = await s.tenancy.createKey(tenant.id, { name: 'first key', role: 'admin' });
    return c.json({ tenant: tenantView(tenant), api_key: apiKey }, 201);
  });
  app.openapi(setPlan, async (c) => {
    if (!can.createTenants(c.get('auth').role))
      throw new Problem('forbidden', 'Only the operator key sets plans; ask whoever runs this server.');
    const tenant = await services().tenancy.setPlan(
      c.req.valid('param').id,
      c.req.valid('json').plan.monthly_minutes,
    );
    return c.json(tenantView(tenant), 200);
  });
}
