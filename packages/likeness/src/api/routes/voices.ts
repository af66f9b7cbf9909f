import { createRoute, z } from '@hono/zod-openapi';
import { FLITE_VOICES } from '../../speech/voice-catalog.ts';
import { VoiceInfoSchema } from '../schemas.ts';
import { type Api, SECURITY } from '../types.ts';

const listVoices = createRoute({
  method: 'get',
  path: '/v1/voices',
  operationId: 'listVoices',
  summary: 'Voices a character can use',
  tags: ['Voices'],
  security: SECURITY,
  responses: {
    200: {
      content: { 'application/json': { schema: z.object({ data: z.array(VoiceInfoSchema) }) } },
      description: 'Voices',
    },
  },
});

export function registerVoiceRoutes(app: Api) {
  app.openapi(listVoices, (c) => c.json({ data: FLITE_VOICES }, 200));
}
