/**
 * The MCP server, driven by the official MCP SDK client: over Streamable HTTP at /mcp, and over stdio
 * (`likeness mcp`) both against a running server and on its own data directory.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ADMIN_KEY, startTestServer, type TestServer } from './helpers/test-server.ts';

const FIXTURES = path.join(import.meta.dirname, 'fixtures');
const BIN = path.join(import.meta.dirname, '..', 'bin', 'likeness.mjs');
const TOOLS = [
  'create_character',
  'create_session',
  'generate_video',
  'get_usage',
  'list_characters',
  'send_message',
  'speak',
];

type Result = Awaited<ReturnType<Client['callTool']>>;
// biome-ignore lint/suspicious/noExplicitAny: the tests read tool results by their documented shape
const structured = (r: Result) => r.structuredContent as Record<string, any>;
/** A tool error's problem: its text is {"problem": {type, status, detail}}. */
const problemIn = (r: Result) => {
  assert.ok(r.isError, 'a tool error');
  return JSON.parse((r.content as { text: string }[])[0]!.text).problem as { type: string; status: number };
};

async function httpClient(url: string, key = ADMIN_KEY): Promise<Client> {
  const client = new Client({ name: 'likeness-test', version: '1.0.0' });
  await client.connect(
    new StreamableHTTPClientTransport(new URL('/mcp', url), {
      requestInit: { headers: { authorization: `Bearer ${key}` } },
    }),
  );
  return client;
}

describe('MCP server', () => {
  let t: TestServer;
  let client: Client;
  let kaiId: string;

  before(async () => {
    t = await startTestServer();
    client = await httpClient(t.server.url);
  });
  after(async () => {
    await client?.close();
    await t?.close();
  });

  it('lists the tools with JSON schemas, and the cast', async () => {
    const { tools } = await client.listTools();
    assert.deepEqual(tools.map((tool) => tool.name).sort(), TOOLS);
    for (const tool of tools) {
      assert.equal(tool.inputSchema.type, 'object', tool.name);
      assert.equal(tool.outputSchema?.type, 'object', tool.name);
    }
    const listed = await client.callTool({ name: 'list_characters', arguments: {} });
    assert.ok(!listed.isError);
    const kai = structured(listed).characters.find((c: { slug: string }) => c.slug === 'kai');
    assert.ok(kai, 'Kai is in the cast');
    assert.match(kai.portrait_url, /^http:\/\/127\.0\.0\.1:\d+\/v1\/characters\/.+\/portrait$/);
    kaiId = kai.id;
  });

  it('generate_video returns an MP4 link that the same key can GET, and its duration', async () => {
    const made = await client.callTool({
      name: 'generate_video',
      arguments: { character_id: kaiId, text: 'Hello from an agent.' },
    });
    assert.ok(!made.isError, JSON.stringify(made.content));
    const video = structured(made);
    assert.ok(video.duration_s > 0.5 && video.duration_s < 5, `${video.duration_s} s`);
    const res = await fetch(video.url, { headers: { authorization: `Bearer ${ADMIN_KEY}` } });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'video/mp4');
    const bytes = Buffer.from(await res.arrayBuffer());
    assert.equal(bytes.toString('ascii', 4, 8), 'ftyp');
    assert.equal(bytes.length, video.bytes);
    assert.equal((await fetch(video.url)).status, 401, 'not without the key');
  });

  it('creates a character from a data: URL, opens a live session and speaks into it; usage counts', async () => {
    const png = await fs.readFile(path.join(FIXTURES, 'astronaut.png'));
    const created = await client.callTool({
      name: 'create_character',
      arguments: { name: 'Astro', portrait: `data:image/png;base64,${png.toString('base64')}`, voice: 'rms' },
    });
    assert.ok(!created.isError, JSON.stringify(created.content));
    const character = structured(created).character;
    assert.equal(character.name, 'Astro');
    const opened = await client.callTool({
      name: 'create_session',
      arguments: { character_id: character.id, mode: 'realtime' },
    });
    const { session, viewer } = structured(opened);
    assert.equal(session.mode, 'realtime');
    assert.match(viewer.whep_url, new RegExp(`/v1/sessions/${session.id}/whep$`));
    assert.match(viewer.token, /^lst_/);
    const spoken = await client.callTool({
      name: 'speak',
      arguments: { session_id: session.id, text: 'Hi!' },
    });
    assert.ok(!spoken.isError, JSON.stringify(spoken.content));
    const usage = await client.callTool({ name: 'get_usage', arguments: { group_by: 'character' } });
    assert.ok(!usage.isError);
    assert.ok(Array.isArray(structured(usage).usage.data));
  });

  it('answers bad arguments and API problems as tool errors carrying the problem type', async () => {
    const unknownArg = await client.callTool({ name: 'list_characters', arguments: { colour: 'red' } });
    assert.ok(unknownArg.isError);
    assert.match(JSON.stringify(unknownArg.content), /colour|Unrecognized/i);
    const both = await client.callTool({
      name: 'generate_video',
      arguments: { text: 'x', session_id: 'ses_a', character_id: 'chr_b' },
    });
    assert.ok(both.isError);
    const live = structured(
      await client.callTool({ name: 'create_session', arguments: { character_id: kaiId, mode: 'realtime' } }),
    ).session;
    const wrongMode = await client.callTool({
      name: 'generate_video',
      arguments: { session_id: live.id, text: 'hi' },
    });
    assert.ok(wrongMode.isError);
    assert.equal(problemIn(wrongMode).type, 'wrong-session-mode');
    assert.equal(problemIn(wrongMode).status, 409);
    const tooLong = await client.callTool({
      name: 'generate_video',
      arguments: { character_id: kaiId, text: 'x'.repeat(6000) },
    });
    assert.equal(problemIn(tooLong).type, 'text-too-long');
    const localPath = await client.callTool({
      name: 'create_character',
      arguments: { name: 'X', portrait: path.join(FIXTURES, 'astronaut.png') },
    });
    assert.ok(localPath.isError, 'a remote caller cannot make the server read its files');
    assert.match(JSON.stringify(localPath.content), /stdio/);
    const privateUrl = await client.callTool({
      name: 'create_character',
      arguments: { name: 'X', portrait: `${t.server.url}/v1/characters/${kaiId}/portrait` },
    });
    assert.ok(privateUrl.isError, 'nor fetch loopback URLs for it');
    const notAFace = await client.callTool({
      name: 'create_character',
      arguments: { name: 'X', portrait: `data:text/plain;base64,${Buffer.from('hello').toString('base64')}` },
    });
    assert.equal(problemIn(notAFace).type, 'not-an-image');
  });

  it('send_message: the character answers in character, with a video link in on-demand sessions', async () => {
    const session = structured(
      await client.callTool({ name: 'create_session', arguments: { character_id: kaiId, user_id: 'ada' } }),
    ).session;
    const sent = await client.callTool({
      name: 'send_message',
      arguments: { session_id: session.id, text: 'Hi Kai, what do you like to do?' },
    });
    assert.ok(!sent.isError, JSON.stringify(sent.content));
    const { message } = structured(sent);
    assert.ok(message.reply_text.length > 0);
    assert.match(message.video_url, /^http:\/\/127\.0\.0\.1:\d+\/v1\/sessions\/.+\/video$/);
    const video = await fetch(message.video_url, { headers: { authorization: `Bearer ${ADMIN_KEY}` } });
    assert.equal(video.status, 200);
  });

  it('serves character portraits as resources, and a prompt', async () => {
    const { resources } = await client.listResources();
    const kai = resources.find((r) => r.uri === `likeness://characters/${kaiId}/portrait`);
    assert.ok(kai);
    const read = await client.readResource({ uri: kai.uri });
    const blob = Buffer.from((read.contents[0] as { blob: string }).blob, 'base64');
    assert.equal(blob.toString('ascii', 1, 4), 'PNG');
    const prompt = await client.getPrompt({ name: 'make_video', arguments: { topic: 'tides' } });
    assert.match(JSON.stringify(prompt.messages), /generate_video/);
  });

  it('refuses /mcp without a valid key, GET, and bodies that are not JSON', async () => {
    const res = await fetch(`${t.server.url}/mcp`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer lk_wrong' },
      body: '{}',
    });
    assert.equal(res.status, 401);
    assert.equal(res.headers.get('content-type'), 'application/problem+json');
    const get = await fetch(`${t.server.url}/mcp`, { headers: { authorization: `Bearer ${ADMIN_KEY}` } });
    assert.equal(get.status, 405, 'stateless: no stream to GET');
    const notJson = await fetch(`${t.server.url}/mcp`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'application/json' },
      body: 'not json',
    });
    assert.equal(notJson.status, 400);
  });

  it('over stdio against this server: tools, and a character from a local file', async () => {
    const stdio = new Client({ name: 'likeness-test', version: '1.0.0' });
    await stdio.connect(
      new StdioClientTransport({
        command: process.execPath,
        args: [BIN, 'mcp', '--url', t.server.url, '--key', ADMIN_KEY],
        stderr: 'pipe',
      }),
    );
    try {
      assert.deepEqual((await stdio.listTools()).tools.map((tool) => tool.name).sort(), TOOLS);
      const created = await stdio.callTool({
        name: 'create_character',
        arguments: { name: 'Grace', portrait: path.join(FIXTURES, 'grace_hopper.jpg') },
      });
      assert.ok(!created.isError, JSON.stringify(created.content));
      assert.equal(structured(created).character.name, 'Grace');
    } finally {
      await stdio.close();
    }
  });

  it('over stdio on its own data directory (no server running): the cast is there', async () => {
    const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'likeness-mcp-'));
    const stdio = new Client({ name: 'likeness-test', version: '1.0.0' });
    await stdio.connect(
      new StdioClientTransport({
        command: process.execPath,
        args: [BIN, 'mcp'],
        env: {
          ...(process.env as Record<string, string>),
          LIKENESS_DATA_DIR: dataDir,
          PORT: '0',
          HOST: '127.0.0.1',
          LIKENESS_NEURAL_VOICE: 'off',
          LOG_LEVEL: 'warn',
        },
        stderr: 'pipe',
      }),
    );
    try {
      const listed = structured(await stdio.callTool({ name: 'list_characters', arguments: {} }));
      assert.ok(listed.characters.some((c: { slug: string }) => c.slug === 'mika'));
      assert.match((await fs.readFile(path.join(dataDir, 'mcp-stdio.key'), 'utf8')).trim(), /^lk_/);
    } finally {
      await stdio.close();
      await fs.rm(dataDir, { recursive: true, force: true });
    }
  });
});
