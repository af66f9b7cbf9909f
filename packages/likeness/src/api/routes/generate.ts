import fs from 'node:fs';
import { Readable } from 'node:stream';
import { createRoute, z } from '@hono/zod-openapi';
import { VISEMES } from '../../animation/visemes.ts';
import { exportAnimation } from '../../media/animation-export.ts';
import { generateForSession } from '../../media/on-demand.ts';
import { MOODS } from '../../persona/persona.ts';
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
    mood: z.enum(MOODS).optional(),
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

export const AnimationBody = GenerateBody.omit({ size: true })
  .extend({
    fps: z
      .number()
      .int()
      .min(10)
      .max(60)
      .optional()
      .openapi({ description: 'Frames per second of the blendshape track (default 25, as the video).' }),
  })
  .strict()
  .openapi('AnimationRequest');

const weights = z.array(z.array(z.number()));
export const AnimationSchema = z
  .object({
    duration_s: z.number().openapi({ description: 'Length of the audio and of the track (whole frames).' }),
    fps: z.number().int(),
    frames: z.number().int(),
    audio: z.object({
      format: z.literal('wav'),
      encoding: z.literal('base64'),
      sample_rate: z.number().int(),
      channels: z.literal(1),
      data: z.string().openapi({ description: '16-bit PCM WAV, padded with silence to whole frames.' }),
    }),
    visemes: z
      .array(
        z.object({
          t: z.number().openapi({ description: 'Seconds from the start of the audio.' }),
          duration: z.number(),
          viseme: z.enum(VISEMES),
          weight: z.number().openapi({ description: '0..1: how strongly the shape is formed.' }),
        }),
      )
      .openapi({ description: 'Oculus visemes, timed by the speech engine’s phonemes.' }),
    blendshapes: z.object({
      names: z.array(z.string()).openapi({ description: 'The 52 ARKit blendshape names, in Apple’s order.' }),
      frames: weights.openapi({ description: 'Frame n (audio time n / fps): one weight 0..1 per name.' }),
    }),
    head: z.object({
      names: z.array(z.string()),
      frames: weights.openapi({ description: 'Head rotation per frame in degrees: yaw, pitch, roll.' }),
    }),
  })
  .openapi('Animation');

const animation = createRoute({
  method: 'post',
  path: '/v1/sessions/{id}/animation',
  operationId: 'generateAnimation',
  summary: 'The animation track of a text, for clients that draw their own face',
  description:
    'On-demand sessions only. The audio (WAV, base64), phoneme-timed Oculus visemes, and ARKit blendshape ' +
    'weights and head rotation per frame, all on the audio clock: frame n is audio time n / fps. The same ' +
    'track the MP4 is rendered from, without the pixels. Counts as media seconds in usage, as an MP4 does.',
  tags: ['On demand'],
  security: SECURITY,
  request: {
    params: IdParam('Session', 'ses_01hz8x4m2k3n5p6q7r8s9t0v1w'),
    body: { content: { 'application/json': { schema: AnimationBody } }, required: true },
  },
  responses: {
    200: { content: { 'application/json': { schema: AnimationSchema } }, description: 'The track' },
    400: problemResponse('Invalid fields (empty text, ...)'),
    403: problemResponse('The session’s media cap would be exceeded'),
    404: problemResponse('No such session'),
    409: problemResponse('Session ended, expired, or not on_demand'),
    422: problemResponse('Text too long, unsupported characters or unknown voice'),
    429: problemResponse('Speech at capacity: retry after the Retry-After seconds'),
    502: problemResponse('The speech engine failed on this text (the server is unaffected)'),
  },
});

export function registerAnimationRoutes(app: Api, services: () => Services) {
  app.openapi(animation, async (c) => {
    const body = c.req.valid('json');
    const s = services();
    const voice = body.voice !== undefined ? s.speech.resolveVoice(body.voice) : undefined;
    // Speech is the cost here; it shares the render queue so a burst of tracks cannot starve live sessions.
    const track = await s.admission.renders.run(
      () =>
        exportAnimation(
          s,
          c.get('auth').tenantId,
          c.req.valid('param').id,
          { ...body, voice },
          c.req.raw.signal,
        ),
      c.req.raw.signal,
    );
    return c.json(track, 200);
  });
}
