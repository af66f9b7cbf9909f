import { Problem } from '../errors.ts';
import type { Services } from '../services.ts';
import type { AuthContext } from '../tenancy/tenancy-service.ts';

/**
 * For routes outside /v1 that take an API key (never a session token) as a bearer token: /mcp and /metrics.
 * 401 problem+json when it is missing, a session token, unknown or revoked.
 */
export async function requireApiKey(
  services: Pick<Services, 'tenancy'>,
  header: string | undefined,
): Promise<AuthContext> {
  const match = /^Bearer\s+(\S+)$/i.exec(header ?? '');
  if (!match || match[1]!.startsWith('lst_'))
    throw new Problem(
      'unauthorized',
      'Send an API key as "Authorization: Bearer <key>" (session tokens do not open this).',
    );
  const auth = await services.tenancy.authenticate(match[1]!);
  if (!auth) throw new Problem('unauthorized', 'The API key is unknown or has been revoked.');
  return auth;
}
