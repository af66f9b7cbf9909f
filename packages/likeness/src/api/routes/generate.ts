import fs from 'node:fs';
import { Readable } from 'node:stream';
import { createRoute, z } from '@hono/zod-openapi';
import { generateForSession } from '../../media/on-demand.ts';
import { MAX_RENDER_SIZE, MIN_RENDER_SIZE } from '../../render/renderer.ts';
import type { Services } from '../../services.ts';
import { IdParam, problemResponse } from '../schemas.ts';
import { type Api, SECURITY } from '../types.ts';

export const GenerateBody = z
  .object({
    text: z
      .string()
      .max(100_000)
      .openapi({ description: 'What the character says. Limit: LIKENESS_MAX_TEXT_CHARS (default 5000).' }),
    voice: z.string().max(80).optional().openapi({
      description:
        'Override the character’s voice: "af_heart", "kokoro:bm_george", "flite:rms", "openai:alloy".',
    }),
    mood: z.enum(['neutral', 'happy']).optional(),
    rate: z.number().min(0.5).max(2).optional().openapi({
      description:
        'Speaking rate, 1 = the voice’s own (0.5 to 2). The neural voice follows it; Flite ignores it.',
    }),
    seed: z
      .number()
      .int()
      .min(0)
      .max(2 ** 31 - 1)
      .optional()
      .openapi({ description: 'Same inputs and seed, same video.' }),
    size: z
      .number()
      .int()
      .min(MIN_RENDER_SIZE)
      .max(MAX_RENDER_SIZE)
      .optional()
      .openapi({ description: 'Frame size in pixels (square).' }),
  })
  .strict()
  .openapi('GenerateRequest');

const generate = createRoute({
  method: 'post',
  path: '/v1/sessions/{id}/generate',
  operationId: 'generateVideo',
  summary: 'Make the character say a text: returns an MP4 (H.264 + AAC)',
  description:
    'On-demand sessions only. The response is a complete MP4 with its index at the front (faststart), produced ' +
    'while rendering. Audio and video are of equal length; each call adds its media seconds to usage.',
  tags: ['On demand'],
  security: SECURITY,
  request: {
    params: IdParam('Session', 'ses_01hz8x4m2k3n5p6q7r8s9t0v1w'),
    body: { content: { 'application/json': { schema: GenerateBody } }, required: true },
  },
  responses: {
    200: {
      content: { 'video/mp4': { schema: z.any().openapi({ type: 'string', format: 'binary' }) } },
      description: 'The video',
    },
    400: problemResponse('Invalid fields (empty text, ...)'),
    403: problemResponse('The session’s media cap would be exceeded'),
    404: problemResponse('No such session'),
    409: problemResponse('Session ended, expired, or not on_demand'),
    422: problemResponse('Text too long, unsupported characters or unknown voice'),
    429: problemResponse('Renders at capacity: retry after the Retry-After seconds'),
    502: problemResponse('The speech engine failed on this text (the server is unaffected)'),
  },
});

export function registerGenerateRoutes(app: Api, services: () => Services) {
  app.openapi(generate, (async (c: Parameters<Parameters<typeof app.openapi>[1]>[0]) => {
    const body = c.req.valid('json' as never) as z.infer<typeof GenerateBody>;
    const voice = body.voice !== undefined ? services().speech.resolveVoice(body.voice) : undefined;
    const s = services();
    const video = await s.admission.renders.run(
      () => generateForSession(s, c.get('auth').tenantId, c.req.param('id')!, { ...body, voice }),
      c.req.raw.signal,
    );
    const stream = fs.createReadStream(video.file);
    stream.on('close', () => fs.rm(video.file, { force: true }, () => undefined));
    return c.body(Readable.toWeb(stream) as ReadableStream, 200, {
      'Content-Type': 'video/mp4',
      'Content-Length': String(video.bytes),
      'Content-Disposition': 'inline; filename="likeness.mp4"',
      'X-Likeness-Duration-S': video.durationS.toFixed(3),
      'X-Likeness-Frames': String(video.frames),
    });
  }) as never);
}
