import fs from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { PROBLEM_TYPES, type ProblemSlug } from '../../errors.ts';
import type { Services } from '../../services.ts';
import type { Api } from '../types.ts';

const require = createRequire(import.meta.url);
const swaggerDir = (require('swagger-ui-dist') as { getAbsoluteFSPath(): string }).getAbsoluteFSPath();
const SWAGGER_ASSETS: Record<string, string> = {
  'swagger-ui.css': 'text/css; charset=utf-8',
  'swagger-ui-bundle.js': 'text/javascript; charset=utf-8',
};

type OpenApiDoc = {
  info: { title: string; version: string; description?: string };
  paths: Record<string, Record<string, { summary?: string; operationId?: string }>>;
};

/** llms.txt: what Likeness is and how to call it, derived from the spec so it cannot fall out of date. */
export function renderLlmsTxt(doc: OpenApiDoc): string {
  const lines = [
    `# ${doc.info.title}`,
    '',
    `> ${doc.info.description ?? ''}`,
    '',
    'Likeness turns one portrait into a talking character: register a character, open a session, make it speak',
    '(as an MP4, or live over WebRTC). Everything runs on the server itself: no GPU, no cloud account.',
    '',
    '## Calling the API',
    '- Base URL: the server you run (default http://localhost:8080). JSON in and out; uploads are multipart/form-data.',
    '- Auth: every /v1 route needs `Authorization: Bearer <key>`. The server prints a key on first start, or set LIKENESS_API_KEY.',
    '- Errors are RFC 9457 problem+json: `{type, title, status, detail}`. `type` is stable (e.g. /problems/no-face); branch on it.',
    '- Lists are paginated: `?limit=20&cursor=<next_cursor>`.',
    '- The machine-readable spec: GET /openapi.json (OpenAPI 3.1). Human docs: /docs. A typed TypeScript SDK: @likeness/sdk.',
    '',
    '## Quick start',
    '```sh',
    'KEY=lk_...   # printed at first start',
    'curl -s localhost:8080/v1/characters -H "Authorization: Bearer $KEY"            # the default cast',
    'curl -s localhost:8080/v1/characters -H "Authorization: Bearer $KEY" \\',
    '  -F name=Ada -F portrait=@face.png -F voice=af_heart                        # your own character',
    'curl -s localhost:8080/v1/sessions -H "Authorization: Bearer $KEY" -H "Content-Type: application/json" \\',
    '  -d \'{"character_id":"chr_...","user_id":"u1","mode":"on_demand"}\'',
    '```',
    '',
    '## Voices',
    '- GET /v1/voices lists them (engine, language, gender, style, sample rate, exact timings, available here);',
    '  GET /v1/voices/{id}/sample is a WAV preview. Neural (Kokoro): kokoro:<id> or a bare id such as af_heart, bm_george;',
    '  Piper (opt-in, `npm run setup -- --piper`; non-commercial voice terms): piper:joe, fast on any CPU;',
    '  Flite: flite:slt|rms|awb|kal16; openai:<id> with an OpenAI-compatible speech API. speak and generate take rate (0.5-2).',
    '',
    '## Conversation',
    '- POST /v1/sessions/{id}/messages with JSON {"text"} or multipart with an `audio` file: the character answers in character,',
    '  remembering this user_id (facts and recent turns). On demand: 200 with `video_url` (or the MP4 with Accept: video/mp4).',
    '  Realtime: 202; the reply is spoken live and streams on GET /v1/sessions/{id}/events (user.transcript, reply.delta, reply.finished).',
    '- Realtime sessions listen: a WHEP offer with a sendrecv audio m-line (or a LiveKit participant microphone) is heard;',
    '  end of turn and barge-in are automatic (session option barge_in: {mode: off|immediate|after, after_ms}); with `after`, speech',
    '  over the answer holds it at once (reply.held), and a backchannel or noise lets it go on (reply.resumed).',
    '- GET/DELETE /v1/characters/{id}/memory?user_id=U shows or erases what the character remembers of a user.',
    '',
    '## MCP',
    '- Likeness is an MCP server: Streamable HTTP at /mcp with `Authorization: Bearer <key>`, or stdio with',
    '  `npx likeness mcp --url http://localhost:8080 --key lk_...` (without --url it runs Likeness on the local data directory).',
    '- Tools: list_characters, create_character (portrait: http(s) URL, data: URL, or a local path over stdio), create_session,',
    '  speak, generate_video (character_id or session_id + text -> {url, duration_s}; GET url with the same key), send_message, get_usage.',
    '- Resources: likeness://characters/{id}/portrait (PNG). Prompt: make_video. Errors: tool errors with {"problem": {type, status, detail}}.',
    '- Client config: {"mcpServers": {"likeness": {"command": "npx", "args": ["likeness", "mcp", "--url", "http://localhost:8080", "--key", "lk_..."]}}}',
    '',
    '## Videos, animation data and webhooks',
    '- POST /v1/sessions/{id}/videos (body as generate; ?wait=true to wait) keeps the MP4: GET /v1/videos/{id}/content.',
    '- POST /v1/sessions/{id}/animation {text} (on demand): audio (WAV, base64), Oculus visemes, 52 ARKit blendshape weights and',
    '  head rotation per frame; frame n is audio time n/fps. Live: GET /v1/sessions/{id}/animation/stream (SSE `frame` events),',
    '  and the LiveKit data topic likeness.animation.',
    '- POST /v1/webhooks {url, events} -> {id, secret}. Events: session.started, session.ended, video.ready, video.failed,',
    '  usage.threshold. Standard Webhooks signatures (webhook-id, webhook-timestamp, webhook-signature); retried; listed with attempts.',
    '',
    '## Endpoints',
  ];
  for (const [p, ops] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(ops)) {
      lines.push(
        `- ${method.toUpperCase()} ${p}: ${op.summary ?? ''} (operationId: ${op.operationId ?? '-'})`,
      );
    }
  }
  lines.push('', '## Error types');
  for (const [slug, t] of Object.entries(PROBLEM_TYPES))
    lines.push(`- /problems/${slug} (${t.status}): ${t.title}`);
  return `${lines.join('\n')}\n`;
}

const DOCS_HTML = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Likeness API reference</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="stylesheet" href="/docs/swagger-ui.css"></head>
<body><div id="ui"></div><script src="/docs/swagger-ui-bundle.js"></script>
<script>window.ui = SwaggerUIBundle({ url: '/openapi.json', dom_id: '#ui', deepLinking: true, persistAuthorization: true });</script>
</body></html>`;

export function registerDiscoveryRoutes(
  app: Api,
  deps: { services: () => Services; spec: () => OpenApiDoc; startedAt: number },
) {
  app.get('/openapi.json', (c) => c.json(deps.spec()));
  app.get('/docs', (c) => c.html(DOCS_HTML));
  app.get('/docs/:asset', async (c) => {
    const asset = c.req.param('asset');
    const type = SWAGGER_ASSETS[asset];
    if (!type) return c.notFound();
    const body = await fs.readFile(path.join(swaggerDir, asset));
    return c.body(new Uint8Array(body), 200, {
      'Content-Type': type,
      'Cache-Control': 'public, max-age=86400',
    });
  });
  app.get('/llms.txt', (c) => c.text(renderLlmsTxt(deps.spec())));
  app.get('/healthz', async (c) => {
    const s = deps.services();
    let database = 'ok';
    try {
      await s.store.db.selectFrom('tenants').select('id').limit(1).execute();
    } catch {
      database = 'unavailable';
    }
    return c.json(
      {
        status: database === 'ok' ? 'ok' : 'degraded',
        database,
        backend: s.store.backend,
        uptime_s: Math.round((Date.now() - deps.startedAt) / 1000),
        // What this process is carrying, against its capacity (429 server-busy beyond it).
        load: {
          event_loop_lag: s.load.eventLoopLag(),
          live_sessions: s.live.host.count,
          viewed_sessions: s.live.host.viewedCount,
          viewed_sessions_capacity: s.live.host.capacity,
          renders: s.admission.renders.stats,
          registrations: s.admission.registrations.stats,
          speech_engine: { processes: s.speech.flitePool.pids.length, ...s.speech.flitePool.stats },
          recogniser: s.stt ? { name: s.stt.name } : null,
        },
      },
      database === 'ok' ? 200 : 503,
    );
  });
  app.get('/problems', (c) =>
    c.json(Object.entries(PROBLEM_TYPES).map(([slug, t]) => ({ type: `/problems/${slug}`, ...t }))),
  );
  app.get('/problems/:slug', (c) => {
    const slug = c.req.param('slug') as ProblemSlug;
    const t = PROBLEM_TYPES[slug];
    if (!t) return c.notFound();
    return c.html(
      `<!doctype html><meta charset="utf-8"><title>${t.title}</title><h1>${t.title}</h1>` +
        `<p>Problem type <code>/problems/${slug}</code>, HTTP ${t.status}.</p><p>The response's <code>detail</code> says what to change.</p>`,
    );
  });
  const studio = fs.readFile(
    path.join(path.dirname(fileURLToPath(import.meta.url)), '../studio.html'),
    'utf8',
  );
  app.get('/', async (c) => c.html(await studio));
  // A page that draws its own face from the animation track: the example for 3D and 2D clients.
  const faceExample = fs.readFile(
    path.join(path.dirname(fileURLToPath(import.meta.url)), '../examples/animation-face.html'),
    'utf8',
  );
  app.get('/examples/animation-face', async (c) => c.html(await faceExample));
}
