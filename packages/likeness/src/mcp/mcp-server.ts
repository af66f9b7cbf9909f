import { McpServer, ResourceTemplate } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import { MOODS } from '../persona/persona.ts';
import { ApiProblem, type LikenessApi } from './api-client.ts';
import { loadPortrait, PortraitSourceError, type PortraitSourceOptions } from './portrait-source.ts';

export interface McpServerOptions {
  api: LikenessApi;
  portraits: PortraitSourceOptions;
  version: string;
}

type Json = Record<string, unknown>;

const text = z.string().min(1).max(100_000).describe('What the character says.');

/** A tool's answer: the structured result, and the same as JSON text for clients that only read text. */
function ok(result: Json): CallToolResult {
  return { content: [{ type: 'text', text: JSON.stringify(result, null, 2) }], structuredContent: result };
}

/** A failure as an MCP tool error that carries the API problem's type, status and detail. */
function toolError(err: unknown): CallToolResult {
  const problem =
    err instanceof ApiProblem
      ? { type: err.slug, status: err.status, detail: err.detail }
      : err instanceof PortraitSourceError
        ? { type: 'validation-error', status: 400, detail: err.message }
        : { type: 'internal-error', status: 500, detail: (err as Error).message };
  // Not as structuredContent: clients check that against the tool's output schema, errors included. The text
  // is the problem as JSON (type, status, detail), and _meta carries it for clients that read that.
  return {
    isError: true,
    content: [{ type: 'text', text: JSON.stringify({ problem }) }],
    _meta: { 'likeness/problem': problem },
  };
}

/** Runs a tool body; any failure becomes a tool error rather than a protocol error. */
const guarded =
  <A>(fn: (args: A) => Promise<Json>) =>
  async (args: A): Promise<CallToolResult> => {
    try {
      return ok(await fn(args));
    } catch (err) {
      return toolError(err);
    }
  };

const characterOut = z
  .object({ id: z.string(), name: z.string(), slug: z.string().nullable().optional() })
  .passthrough();
const sessionOut = z.object({ id: z.string(), mode: z.string(), status: z.string() }).passthrough();

/**
 * The Likeness MCP server: tools for agents to list and create characters, open sessions, make a character
 * speak live, render an MP4 and get its link, talk in character, and read usage; the cast's portraits as
 * resources; a prompt for making a video. Every tool calls the HTTP API with the caller's key.
 */
export function createMcpServer(opts: McpServerOptions): McpServer {
  const { api } = opts;
  const server = new McpServer(
    { name: 'likeness', version: opts.version },
    {
      instructions:
        'Likeness makes talking-head characters from one portrait. To make a video: list_characters (or ' +
        'create_character), then generate_video with a character_id and the text; the result has an MP4 URL ' +
        'that the same API key can GET. For live video, create_session with mode "realtime" and speak into it.',
    },
  );

  const withLinks = (c: Json) => ({ ...c, portrait_url: api.absolute(`/v1/characters/${c.id}/portrait`) });

  server.registerTool(
    'list_characters',
    {
      title: 'List characters',
      description: 'The characters this key can use: the built-in cast and the ones you created.',
      inputSchema: z.object({}).strict(),
      outputSchema: z.object({ characters: z.array(characterOut) }),
      annotations: { readOnlyHint: true },
    },
    guarded(async () => {
      const characters: Json[] = [];
      let cursor: string | null = null;
      do {
        const page: { data: Json[]; next_cursor: string | null } = await api.json(
          'GET',
          `/v1/characters?limit=100${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
        );
        characters.push(...page.data.map(withLinks));
        cursor = page.next_cursor;
      } while (cursor && characters.length < 1000);
      return { characters };
    }),
  );

  server.registerTool(
    'create_character',
    {
      title: 'Create a character',
      description:
        'Registers a character from one portrait (a photo or drawing with one clear, frontal face): an http(s) ' +
        'URL, a data: URL, or, for the stdio server, a local file path.',
      inputSchema: z
        .object({
          name: z.string().min(1).max(80),
          portrait: z
            .string()
            .min(1)
            .max(20_000_000)
            .describe('http(s) URL, data: URL, or local path (stdio)'),
          voice: z.string().max(80).optional().describe('A voice id from GET /v1/voices, e.g. "af_heart".'),
          persona: z.string().max(8000).optional().describe('Who the character is, for conversations.'),
          greeting: z.string().max(500).optional(),
          mood: z.enum(MOODS).optional(),
        })
        .strict(),
      outputSchema: z.object({ character: characterOut }),
    },
    guarded(async (args) => {
      const portrait = await loadPortrait(args.portrait, opts.portraits);
      const form = new FormData();
      form.set(
        'portrait',
        new Blob([new Uint8Array(portrait.bytes)], { type: portrait.type }),
        portrait.filename,
      );
      form.set('name', args.name);
      for (const key of ['voice', 'persona', 'greeting', 'mood'] as const) {
        const value = args[key];
        if (value !== undefined) form.set(key, value);
      }
      return { character: withLinks(await api.json('POST', '/v1/characters', form)) };
    }),
  );

  const openSession = async (args: {
    character_id: string;
    mode: 'on_demand' | 'realtime';
    user_id?: string | undefined;
    max_duration_s?: number | undefined;
    greeting?: boolean | undefined;
  }) =>
    api.json('POST', '/v1/sessions', {
      character_id: args.character_id,
      user_id: args.user_id ?? 'mcp',
      mode: args.mode,
      ...(args.max_duration_s !== undefined ? { max_duration_s: args.max_duration_s } : {}),
      ...(args.greeting !== undefined ? { greeting: args.greeting } : {}),
    });

  server.registerTool(
    'create_session',
    {
      title: 'Open a session',
      description:
        'A session with a character. on_demand: for generate_video and send_message (replies as MP4s). ' +
        'realtime: live video over WebRTC; the result has a viewer link (WHEP) and speak makes it talk.',
      inputSchema: z
        .object({
          character_id: z.string().min(1).max(64),
          mode: z.enum(['on_demand', 'realtime']).default('on_demand'),
          user_id: z.string().min(1).max(200).optional().describe('Whose memory conversations use.'),
          max_duration_s: z.number().int().min(1).max(86_400).optional(),
          greeting: z.boolean().optional(),
        })
        .strict(),
      outputSchema: z.object({ session: sessionOut, viewer: z.object({}).passthrough().optional() }),
    },
    guarded(async (args) => {
      const session = await openSession(args);
      if (args.mode !== 'realtime') return { session };
      const token = await api.json('POST', `/v1/sessions/${session.id}/token`);
      return {
        session,
        viewer: {
          whep_url: api.absolute(`/v1/sessions/${session.id}/whep`),
          token: token.token,
          expires_at: token.expires_at,
          note: 'POST an SDP offer to whep_url with "Authorization: Bearer <token>" (WHEP).',
        },
      };
    }),
  );

  server.registerTool(
    'speak',
    {
      title: 'Speak live',
      description: 'Makes the character say a text in a realtime session (the live video shows it).',
      inputSchema: z
        .object({
          session_id: z.string().min(1).max(64),
          text,
          mood: z.enum(MOODS).optional(),
          voice: z.string().max(80).optional(),
        })
        .strict(),
      outputSchema: z.object({ utterance: z.object({}).passthrough() }),
    },
    guarded(async ({ session_id, ...body }) => ({
      utterance: await api.json('POST', `/v1/sessions/${encodeURIComponent(session_id)}/speak`, body),
    })),
  );

  server.registerTool(
    'generate_video',
    {
      title: 'Generate a video',
      description:
        'Renders the character saying a text as an MP4 (H.264 + AAC) and returns its URL (GET it with the ' +
        'same API key) and duration. Give an on_demand session_id, or a character_id to use a new session.',
      inputSchema: z
        .object({
          session_id: z.string().min(1).max(64).optional(),
          character_id: z.string().min(1).max(64).optional(),
          text,
          voice: z.string().max(80).optional(),
          mood: z.enum(MOODS).optional(),
          rate: z.number().min(0.5).max(2).optional(),
          seed: z.number().int().min(0).optional(),
        })
        .strict()
        .refine((a) => (a.session_id === undefined) !== (a.character_id === undefined), {
          message: 'give exactly one of session_id or character_id',
        }),
      outputSchema: z.object({
        video_id: z.string(),
        url: z.string(),
        duration_s: z.number(),
        bytes: z.number(),
        session_id: z.string(),
      }),
    },
    guarded(async ({ session_id, character_id, ...body }) => {
      const sessionId =
        session_id ?? String((await openSession({ character_id: character_id!, mode: 'on_demand' })).id);
      const video = await api.json<{ id: string; url: string; duration_s: number; bytes: number }>(
        'POST',
        `/v1/sessions/${encodeURIComponent(sessionId)}/videos?wait=true`,
        body,
      );
      return {
        video_id: video.id,
        url: api.absolute(video.url),
        duration_s: video.duration_s,
        bytes: video.bytes,
        session_id: sessionId,
      };
    }),
  );

  server.registerTool(
    'send_message',
    {
      title: 'Talk to the character',
      description:
        'Sends what the user says; the character answers in character, with memory of this user. In a ' +
        'realtime session it speaks the answer live; in an on_demand session the answer is also an MP4 (video_url).',
      inputSchema: z
        .object({ session_id: z.string().min(1).max(64), text: z.string().min(1).max(100_000) })
        .strict(),
      outputSchema: z.object({ message: z.object({}).passthrough() }),
    },
    guarded(async ({ session_id, text: said }) => {
      const message = await api.json('POST', `/v1/sessions/${encodeURIComponent(session_id)}/messages`, {
        text: said,
      });
      if (typeof message.video_url === 'string') message.video_url = api.absolute(message.video_url);
      return { message };
    }),
  );

  server.registerTool(
    'get_usage',
    {
      title: 'Usage',
      description: 'Media seconds and minutes used in a time window, grouped by session, character or user.',
      inputSchema: z
        .object({
          from: z.string().max(40).optional().describe('ISO date-time; default: start of this month'),
          to: z.string().max(40).optional(),
          group_by: z.enum(['session', 'character', 'user']).optional(),
        })
        .strict(),
      outputSchema: z.object({ usage: z.object({}).passthrough() }),
      annotations: { readOnlyHint: true },
    },
    guarded(async (args) => {
      const query = new URLSearchParams(
        Object.entries(args).filter((e): e is [string, string] => e[1] !== undefined),
      );
      return { usage: await api.json('GET', `/v1/usage${query.size ? `?${query}` : ''}`) };
    }),
  );

  server.registerResource(
    'character-portrait',
    new ResourceTemplate('likeness://characters/{id}/portrait', {
      list: async () => {
        const page = await api.json<{ data: { id: string; name: string }[] }>(
          'GET',
          '/v1/characters?limit=100',
        );
        return {
          resources: page.data.map((c) => ({
            uri: `likeness://characters/${c.id}/portrait`,
            name: `${c.name} (portrait)`,
            mimeType: 'image/png',
          })),
        };
      },
    }),
    {
      title: 'Character portrait',
      description: 'The normalised portrait a character is rendered from.',
      mimeType: 'image/png',
    },
    async (uri, { id }) => {
      const res = await api.request('GET', `/v1/characters/${encodeURIComponent(String(id))}/portrait`);
      const blob = Buffer.from(await res.arrayBuffer()).toString('base64');
      return { contents: [{ uri: uri.href, mimeType: 'image/png', blob }] };
    },
  );

  server.registerPrompt(
    'make_video',
    {
      title: 'Make a video with a character',
      description: 'Writes a short script on a topic and renders it with a character.',
      argsSchema: {
        topic: z.string().max(500).describe('What the video is about'),
        character: z.string().max(80).optional().describe('A character name, or leave it to the model'),
      },
    },
    ({ topic, character }) => ({
      messages: [
        {
          role: 'user',
          content: {
            type: 'text',
            text:
              `Make a short talking-head video about: ${topic}.\n` +
              `1. Call list_characters and pick ${character ? `the character named "${character}"` : 'a fitting character'}.\n` +
              '2. Write a script of two to four spoken sentences (no stage directions, no emoji).\n' +
              '3. Call generate_video with its character_id and the script, and give me the URL and duration.',
          },
        },
      ],
    }),
  );

  return server;
}
