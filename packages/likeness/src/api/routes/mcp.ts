import { WebStandardStreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js';
import type { Hono } from 'hono';
import { Problem } from '../../errors.ts';
import { LikenessApi } from '../../mcp/api-client.ts';
import { createMcpServer } from '../../mcp/mcp-server.ts';
import type { Services } from '../../services.ts';
import { requireApiKey } from '../api-key-auth.ts';
import type { Api } from '../types.ts';

/**
 * MCP over Streamable HTTP at /mcp, stateless: every POST carries the API key (Bearer, as /v1 does), and
 * gets a fresh MCP server whose tools call this same app in-process with that key. Nothing is kept between
 * requests, so any number of agents can use it and a restart loses nothing.
 */
export function registerMcpRoute(app: Api, services: () => Services, version: string) {
  app.all('/mcp', async (c) => {
    const header = c.req.header('authorization') ?? '';
    await requireApiKey(services(), header);
    // Stateless: no server-initiated stream to GET, no session to DELETE (the spec's answer is 405).
    if (c.req.method !== 'POST')
      return c.json(
        {
          jsonrpc: '2.0',
          error: { code: -32000, message: 'Method not allowed: POST JSON-RPC messages to /mcp.' },
          id: null,
        },
        405,
        { Allow: 'POST' },
      );
    const origin = new URL(c.req.url).origin;
    const api = new LikenessApi(
      (path, init) =>
        Promise.resolve(
          (app as unknown as Hono).request(path, {
            ...init,
            headers: { ...(init.headers as Record<string, string>), authorization: header },
          }),
        ),
      origin,
    );
    const server = createMcpServer({
      api,
      version,
      portraits: {
        allowLocalFiles: false,
        allowPrivateUrls: false,
        maxBytes: services().config.limits.maxImageBytes,
      },
    });
    const transport = new WebStandardStreamableHTTPServerTransport({
      sessionIdGenerator: undefined,
      enableJsonResponse: true,
    });
    await server.connect(transport);
    try {
      let parsedBody: unknown;
      if (c.req.method === 'POST') {
        try {
          parsedBody = await c.req.json();
        } catch {
          throw new Problem('validation-error', 'The body is not JSON (MCP sends JSON-RPC messages).');
        }
      }
      return await transport.handleRequest(c.req.raw, parsedBody === undefined ? {} : { parsedBody });
    } finally {
      await server.close();
    }
  });
}
