import { Problem } from '../../errors.ts';
import type { Services } from '../../services.ts';
import { can } from '../../tenancy/tenancy-service.ts';
import { requireApiKey } from '../api-key-auth.ts';
import type { Api } from '../types.ts';

/**
 * GET /metrics: Prometheus text format, for the operator (the operator key as a bearer token; Prometheus's
 * `authorization: {credentials: ...}` sends it). Server-wide figures, so tenant keys may not read them.
 */
export function registerMetricsRoute(app: Api, services: () => Services) {
  app.get('/metrics', async (c) => {
    const auth = await requireApiKey(services(), c.req.header('authorization'));
    if (!can.createTenants(auth.role))
      throw new Problem('forbidden', 'Metrics cover every tenant: only the operator key reads them.');
    const { contentType, body } = await services().metrics.render();
    return c.body(body, 200, { 'Content-Type': contentType });
  });
}
