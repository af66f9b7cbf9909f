import { createRoute, z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import type { Services } from '../../services.ts';
import { problemResponse, VoiceInfoSchema } from '../schemas.ts';
import { type Api, type AppEnv, SECURITY } from '../types.ts';

const listVoices = createRoute({
  method: 'get',
  path: '/v1/voices',
  operationId: 'listVoices',
  summary: 'Voices a character can use',
  description:
    'The embedded voices: Kokoro (neural, the default) and Flite (small, robotic, the fallback). `available` says ' +
    'whether this server runs the engine; voices "openai:<id>" work when an OpenAI-compatible speech API is configured.',
  tags: ['Voices'],
  security: SECURITY,
  responses: {
    200: {
      content: { 'application/json': { schema: z.object({ data: z.array(VoiceInfoSchema) }) } },
      description: 'Voices',
    },
  },
});

const voiceSample = createRoute({
  method: 'get',
  path: '/v1/voices/{id}/sample',
  operationId: 'getVoiceSample',
  summary: 'A short spoken preview of a voice (WAV)',
  tags: ['Voices'],
  security: SECURITY,
  request: {
    params: z.object({
      id: z
        .string()
        .min(1)
        .max(80)
        .openapi({ param: { name: 'id', in: 'path' }, example: 'kokoro:af_heart', description: 'Voice id' }),
    }),
  },
  responses: {
    200: {
      content: { 'audio/wav': { schema: z.any().openapi({ type: 'string', format: 'binary' }) } },
      description: 'WAV, 16-bit mono',
    },
    404: problemResponse('No such voice'),
  },
});

export function registerVoiceRoutes(app: Api, services: () => Services) {
  app.openapi(listVoices, (c) =>
    c.json(
      {
        data: services()
          .speech.voices()
          .map((v) => ({ ...v, sample_url: `/v1/voices/${v.provider}:${v.id}/sample` })),
      },
      200,
    ),
  );
  app.openapi(voiceSample, (async (c: Context<AppEnv>) => {
    const wav = await services().speech.preview(c.req.param('id')!);
    return c.body(wav, 200, { 'Content-Type': 'audio/wav', 'Cache-Control': 'private, max-age=3600' });
  }) as never);
}
