import fs from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import pino from 'pino';
import { loadConfig } from '../config.ts';
import { createLogger } from '../log-context.ts';
import { type RunningServer, startServer } from '../server.ts';
import { DEFAULT_TENANT_ID } from '../tenancy/tenancy-service.ts';
import { LikenessApi } from './api-client.ts';
import { createMcpServer } from './mcp-server.ts';

export const MCP_USAGE =
  'usage: likeness mcp [--url http://host:8080 --key lk_...]\n' +
  '  With --url (or LIKENESS_URL): an MCP server on stdio for that Likeness server, with --key or LIKENESS_API_KEY.\n' +
  '  Without: starts Likeness itself on this machine (LIKENESS_DATA_DIR, PORT) and serves MCP on stdio.';

/** The key the local stdio server uses: made once (admin of the default tenant), kept beside the data. */
async function localKey(server: RunningServer, dataDir: string): Promise<string> {
  const file = path.join(dataDir, 'mcp-stdio.key');
  const stored = (await fs.readFile(file, 'utf8').catch(() => '')).trim();
  if (stored && (await server.services.tenancy.authenticate(stored))) return stored;
  const created = await server.services.tenancy.createKey(DEFAULT_TENANT_ID, {
    name: 'mcp (stdio)',
    role: 'admin',
  });
  await fs.writeFile(file, `${created.key}\n`, { mode: 0o600 });
  return created.key;
}

/**
 * `likeness mcp`: the MCP server on stdin/stdout, for MCP clients that start their servers as programs
 * (Claude Desktop, Cursor, the MCP inspector). stdout carries JSON-RPC only: every log line goes to stderr.
 */
export async function runStdioMcp(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: { url: { type: 'string' }, key: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
  });
  if (values.help) {
    process.stderr.write(`${MCP_USAGE}\n`);
    return;
  }
  const remote = values.url ?? process.env.LIKENESS_URL;
  let api: LikenessApi;
  let local: RunningServer | undefined;
  if (remote) {
    const key = values.key ?? process.env.LIKENESS_API_KEY;
    if (!key) throw new Error(`--key or LIKENESS_API_KEY is needed with --url\n${MCP_USAGE}`);
    const base = new URL(remote);
    api = new LikenessApi(
      (p, init) =>
        fetch(new URL(p, base), {
          ...init,
          headers: { ...(init.headers as Record<string, string>), authorization: `Bearer ${key}` },
        }),
      base.origin,
    );
  } else {
    const config = loadConfig();
    local = await startServer(config, { logger: createLogger(config.logLevel, pino.destination(2)) });
    const key = await localKey(local, config.dataDir);
    api = new LikenessApi(
      (p, init) =>
        fetch(new URL(p, local!.url), {
          ...init,
          headers: { ...(init.headers as Record<string, string>), authorization: `Bearer ${key}` },
        }),
      local.url,
    );
    process.stderr.write(`likeness mcp: Likeness running at ${local.url}, data in ${config.dataDir}\n`);
  }
  const server = createMcpServer({
    api,
    version: '0.1.0',
    portraits: {
      // The person running this program can read these files and reach these hosts already.
      allowLocalFiles: true,
      allowPrivateUrls: true,
      maxBytes: 10 * 1024 * 1024,
    },
  });
  const transport = new StdioServerTransport();
  const closed = new Promise<void>((resolve) => {
    transport.onclose = () => resolve();
    process.stdin.on('end', () => resolve());
  });
  await server.connect(transport);
  await closed;
  await server.close();
  await local?.close();
}
