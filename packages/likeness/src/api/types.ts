import type { OpenAPIHono } from '@hono/zod-openapi';
import type { AuthContext } from '../tenancy/tenancy-service.ts';

export type AppEnv = { Variables: { auth: AuthContext; requestId: string } };
export type Api = OpenAPIHono<AppEnv>;
export const SECURITY = [{ bearerAuth: [] }];
