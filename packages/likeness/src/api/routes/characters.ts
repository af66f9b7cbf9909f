import { createRoute, z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import type { Character } from '../../characters/character-service.ts';
import { checkCharacterModel } from '../../conversation/llm/endpoint-policy.ts';
import { Problem } from '../../errors.ts';
import type { Identity } from '../../registration/identity.ts';
import type { RegistrationInput } from '../../registration/registrar.ts';
import { MAX_RENDER_SIZE, MIN_RENDER_SIZE } from '../../render/renderer.ts';
import { EXPRESSIONS, renderStill } from '../../render/stills.ts';
import type { Services } from '../../services.ts';
import {
  CharacterListSchema,
  CharacterSchema,
  CreateCharacterForm,
  IdentityDetailSchema,
  IdParam,
  PageQuery,
  problemResponse,
  UpdateCharacterBody,
} from '../schemas.ts';
import { type Api, type AppEnv, SECURITY } from '../types.ts';

const tags = ['Characters'];

const withUrl = (c: Character) => ({ ...c, portrait_url: `/v1/characters/${c.id}/portrait` });

const createCharacter = createRoute({
  method: 'post',
  path: '/v1/characters',
  operationId: 'createCharacter',
  summary: 'Register a character from a portrait or a short reference video',
  description:
    'Multipart form. Detects exactly one face, normalises the framing and builds a reusable identity. ' +
    'The identity is content-addressed: sending the same file again reuses it (identity.cached = true).',
  tags,
  security: SECURITY,
  request: { body: { content: { 'multipart/form-data': { schema: CreateCharacterForm } }, required: true } },
  responses: {
    201: { content: { 'application/json': { schema: CharacterSchema } }, description: 'Created' },
    400: problemResponse('Missing or invalid fields'),
    413: problemResponse('Upload too large'),
    415: problemResponse('Not multipart/form-data'),
    422: problemResponse(
      'The image or video cannot be used (not an image, corrupt, no face, ...), or unknown voice',
    ),
    429: problemResponse('Registrations at capacity (Retry-After)'),
  },
});

const listCharacters = createRoute({
  method: 'get',
  path: '/v1/characters',
  operationId: 'listCharacters',
  summary: 'List characters (the default cast and yours), oldest first',
  tags,
  security: SECURITY,
  request: { query: PageQuery },
  responses: {
    200: {
      content: { 'application/json': { schema: CharacterListSchema } },
      description: 'A page of characters',
    },
  },
});

const getCharacter = createRoute({
  method: 'get',
  path: '/v1/characters/{id}',
  operationId: 'getCharacter',
  summary: 'Get a character',
  tags,
  security: SECURITY,
  request: { params: IdParam('Character', 'chr_01hz8x4m2k3n5p6q7r8s9t0v1w') },
  responses: {
    200: { content: { 'application/json': { schema: CharacterSchema } }, description: 'The character' },
    404: problemResponse('No such character'),
  },
});

const updateCharacter = createRoute({
  method: 'patch',
  path: '/v1/characters/{id}',
  operationId: 'updateCharacter',
  summary: 'Change a character’s name, voice or persona',
  tags,
  security: SECURITY,
  request: {
    params: IdParam('Character', 'chr_01hz8x4m2k3n5p6q7r8s9t0v1w'),
    body: { content: { 'application/json': { schema: UpdateCharacterBody } }, required: true },
  },
  responses: {
    200: {
      content: { 'application/json': { schema: CharacterSchema } },
      description: 'The updated character',
    },
    400: problemResponse('Invalid fields'),
    404: problemResponse('No such character'),
    422: problemResponse('Unknown voice'),
  },
});

const deleteCharacter = createRoute({
  method: 'delete',
  path: '/v1/characters/{id}',
  operationId: 'deleteCharacter',
  summary: 'Delete a character',
  tags,
  security: SECURITY,
  request: { params: IdParam('Character', 'chr_01hz8x4m2k3n5p6q7r8s9t0v1w') },
  responses: { 204: { description: 'Deleted' }, 404: problemResponse('No such character') },
});

const getPortrait = createRoute({
  method: 'get',
  path: '/v1/characters/{id}/portrait',
  operationId: 'getCharacterPortrait',
  summary: 'The normalised portrait (PNG)',
  tags,
  security: SECURITY,
  request: { params: IdParam('Character', 'chr_01hz8x4m2k3n5p6q7r8s9t0v1w') },
  responses: {
    200: {
      content: { 'image/png': { schema: z.any().openapi({ type: 'string', format: 'binary' }) } },
      description: 'PNG',
    },
    404: problemResponse('No such character'),
  },
});

const getIdentity = createRoute({
  method: 'get',
  path: '/v1/characters/{id}/identity',
  operationId: 'getCharacterIdentity',
  summary: 'The identity behind a character: landmarks, warp mesh, regions, palette, idle-motion profile',
  tags,
  security: SECURITY,
  request: { params: IdParam('Character', 'chr_01hz8x4m2k3n5p6q7r8s9t0v1w') },
  responses: {
    200: { content: { 'application/json': { schema: IdentityDetailSchema } }, description: 'The identity' },
    404: problemResponse('No such character'),
  },
});

const getStill = createRoute({
  method: 'get',
  path: '/v1/characters/{id}/still',
  operationId: 'getCharacterStill',
  summary: 'A still of the character (PNG), drawn by the same renderer as its videos',
  tags,
  security: SECURITY,
  request: {
    params: IdParam('Character', 'chr_01hz8x4m2k3n5p6q7r8s9t0v1w'),
    query: z.object({
      expression: z.enum(EXPRESSIONS).default('neutral'),
      size: z.coerce.number().int().min(MIN_RENDER_SIZE).max(MAX_RENDER_SIZE).optional(),
    }),
  },
  responses: {
    200: {
      content: { 'image/png': { schema: z.any().openapi({ type: 'string', format: 'binary' }) } },
      description: 'PNG',
    },
    400: problemResponse('Unknown expression or size out of range'),
    404: problemResponse('No such character'),
  },
});

/** The stored identity in the API's snake_case. */
function identityView(i: Identity) {
  return {
    id: i.id,
    pipeline_version: i.pipelineVersion,
    size: i.size,
    source: {
      kind: i.source.kind,
      width: i.source.width,
      height: i.source.height,
      format: i.source.format,
      ...(i.source.frameTimeS !== undefined ? { frame_time_s: i.source.frameTimeS } : {}),
    },
    landmarks: i.landmarks,
    face_box: i.faceBox,
    pose: { yaw_deg: i.pose.yawDeg, pitch_deg: i.pose.pitchDeg, roll_deg: i.pose.rollDeg },
    mesh: {
      vertices: i.mesh.vertices,
      triangles: i.mesh.triangles,
      face_vertex_count: i.mesh.faceVertexCount,
      ring_vertex_count: i.mesh.ringVertexCount,
      border_vertex_count: i.mesh.borderVertexCount,
    },
    regions: i.regions,
    palette: {
      skin: i.palette.skin,
      lip: i.palette.lip,
      background: i.palette.background,
      mouth_cavity: i.palette.mouthCavity,
    },
    idle: {
      source: i.idle.source,
      blink_rate_per_min: i.idle.blinkRatePerMin,
      blink_duration_ms: i.idle.blinkDurationMs,
      head_sway_deg: i.idle.headSwayDeg,
      sway_period_s: i.idle.swayPeriodS,
      breath_rate_per_min: i.idle.breathRatePerMin,
      saccade_interval_s: i.idle.saccadeIntervalS,
    },
  };
}

function uploadFrom(form: Record<string, unknown>): RegistrationInput {
  const portrait = form.portrait;
  const video = form.video;
  if (portrait !== undefined && video !== undefined) {
    throw new Problem('validation-error', 'Send either portrait or video, not both.', {
      errors: [{ path: 'portrait', message: 'only one of portrait or video' }],
    });
  }
  const file = portrait ?? video;
  if (file === undefined) {
    throw new Problem(
      'validation-error',
      'A portrait image (field "portrait") or a reference video (field "video") is required.',
      {
        errors: [{ path: 'portrait', message: 'required' }],
      },
    );
  }
  if (!(file instanceof Blob)) {
    const field = portrait !== undefined ? 'portrait' : 'video';
    throw new Problem('validation-error', `Field "${field}" must be a file upload, not text.`, {
      errors: [{ path: field, message: 'must be a file' }],
    });
  }
  return { kind: portrait !== undefined ? 'image' : 'video', bytes: new Uint8Array(0) };
}

export function registerCharacterRoutes(app: Api, services: () => Services) {
  // The size limit is enforced while the body streams in (body-limit.ts, app.ts), before any of it is parsed.
  app.use('/v1/characters', async (c, next) => {
    if (c.req.method !== 'POST') return next();
    const type = c.req.header('content-type') ?? '';
    if (!type.startsWith('multipart/form-data')) {
      throw new Problem(
        'unsupported-media-type',
        'Send the character as multipart/form-data with a "portrait" (or "video") file field.',
      );
    }
    return next();
  });

  app.openapi(createCharacter, async (c) => {
    const form = c.req.valid('form') as z.infer<typeof CreateCharacterForm> & Record<string, unknown>;
    const upload = uploadFrom(form);
    const file = (form.portrait ?? form.video) as Blob;
    upload.bytes = new Uint8Array(await file.arrayBuffer());
    const voice = form.voice !== undefined ? services().speech.resolveVoice(form.voice) : undefined;
    const s = services();
    if ((form.llm_base_url === undefined) !== (form.llm_model === undefined)) {
      throw new Problem(
        'validation-error',
        'Give llm_base_url and llm_model together (and llm_api_key if it needs one).',
        {
          errors: [
            {
              path: form.llm_base_url === undefined ? 'llm_base_url' : 'llm_model',
              message: 'required with the other',
            },
          ],
        },
      );
    }
    const llm =
      form.llm_base_url !== undefined && form.llm_model !== undefined
        ? checkCharacterModel(
            { base_url: form.llm_base_url, model: form.llm_model, api_key: form.llm_api_key },
            { allowPrivate: s.config.llm.allowPrivateUrls },
          )
        : undefined;
    const tenantId = c.get('auth').tenantId;
    const character = await s.admission.registrations.run(
      () =>
        s.characters.create(tenantId, {
          name: form.name,
          upload,
          voice,
          llm,
          persona: {
            ...(form.persona !== undefined ? { prompt: form.persona } : {}),
            ...(form.greeting !== undefined ? { greeting: form.greeting } : {}),
            ...(form.mood !== undefined ? { mood: form.mood } : {}),
          },
        }),
      c.req.raw.signal,
    );
    return c.json(withUrl(character), 201, { Location: `/v1/characters/${character.id}` });
  });

  app.openapi(listCharacters, async (c) => {
    const q = c.req.valid('query');
    const page = await services().characters.list(c.get('auth').tenantId, q);
    return c.json({ data: page.data.map(withUrl), next_cursor: page.next_cursor }, 200);
  });

  app.openapi(getCharacter, async (c) => {
    const character = await services().characters.get(c.get('auth').tenantId, c.req.valid('param').id);
    return c.json(withUrl(character), 200);
  });

  app.openapi(updateCharacter, async (c) => {
    const body = c.req.valid('json');
    const s = services();
    if (body.voice) s.speech.resolveVoice(body.voice);
    const llm = body.llm
      ? checkCharacterModel(body.llm, { allowPrivate: s.config.llm.allowPrivateUrls })
      : body.llm;
    const character = await s.characters.update(c.get('auth').tenantId, c.req.valid('param').id, {
      ...body,
      llm,
    });
    return c.json(withUrl(character), 200);
  });

  app.openapi(deleteCharacter, async (c) => {
    await services().characters.delete(c.get('auth').tenantId, c.req.valid('param').id);
    return c.body(null, 204);
  });

  app.openapi(getIdentity, async (c) => {
    const s = services();
    const character = await s.characters.get(c.get('auth').tenantId, c.req.valid('param').id);
    return c.json(identityView(await s.registrar.load(character.identity.id)), 200);
  });

  app.openapi(getStill, (async (c: Context<AppEnv>) => {
    const s = services();
    const { expression, size } = (
      c.req as unknown as { valid(t: 'query'): { expression: (typeof EXPRESSIONS)[number]; size?: number } }
    ).valid('query');
    const character = await s.characters.get(c.get('auth').tenantId, c.req.param('id')!);
    const renderer = await s.renders.renderer(character.identity.id, size ?? s.config.limits.portraitSize);
    const png = await renderStill(renderer, expression);
    return c.body(new Uint8Array(png), 200, {
      'Content-Type': 'image/png',
      'Cache-Control': 'private, max-age=3600',
    });
  }) as never);

  app.openapi(getPortrait, (async (c: Context<AppEnv>) => {
    const png = await services().characters.portraitPng(c.get('auth').tenantId, c.req.param('id')!);
    return c.body(new Uint8Array(png), 200, {
      'Content-Type': 'image/png',
      'Cache-Control': 'private, max-age=31536000, immutable',
    });
  }) as never);
}
