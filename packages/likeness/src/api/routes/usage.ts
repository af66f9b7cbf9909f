import { createRoute } from '@hono/zod-openapi';
import { Problem } from '../../errors.ts';
import type { Services } from '../../services.ts';
import { problemResponse, UsageQuery, UsageSchema } from '../schemas.ts';
import { type Api, SECURITY } from '../types.ts';

const getUsage = createRoute({
  method: 'get',
  path: '/v1/usage',
  operationId: 'getUsage',
  summary: 'Media seconds and minutes used, grouped by session, character or user',
  tags: ['Usage'],
  security: SECURITY,
  request: { query: UsageQuery },
  responses: {
    200: { content: { 'application/json': { schema: UsageSchema } }, description: 'Usage in the window' },
    400: problemResponse('Invalid window'),
  },
});

export function registerUsageRoutes(app: Api, services: () => Services) {
  app.openapi(getUsage, async (c) => {
    const q = c.req.valid('query');
    const now = new Date();
    const from = q.from ? new Date(q.from) : new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1));
    const to = q.to ? new Date(q.to) : now;
    if (from.getTime() >= to.getTime()) {
      throw new Problem('validation-error', '"from" must be before "to".', {
        errors: [{ path: 'from', message: 'must be before to' }],
      });
    }
    const usage = await services().usage.query({
      tenantId: c.get('auth').tenantId,
      from,
      to,
      groupBy: q.group_by,
    });
    const quota = await services().quota.status(c.get('auth').tenantId, now);
    return c.json(
      { from: from.toISOString(), to: to.toISOString(), group_by: q.group_by, ...usage, quota },
      200,
    );
  });
}
