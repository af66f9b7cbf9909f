import fs from 'node:fs';
import { Readable } from 'node:stream';
import { createRoute, z } from '@hono/zod-openapi';
import { Problem, type ProblemSlug } from '../../errors.ts';
import type { VideoRow } from '../../media/video-jobs.ts';
import type { Services } from '../../services.ts';
import { IdParam, PageQuery, problemResponse } from '../schemas.ts';
import { type Api, SECURITY } from '../types.ts';
import { GenerateBody } from './generate.ts';

const tags = ['On demand'];

export const VideoSchema = z
  .object({
    id: z.string(),
    session_id: z.string(),
    character_id: z.string(),
    status: z.enum(['rendering', 'ready', 'failed']),
    url: z.string().openapi({
      description: 'Where the MP4 is, once ready: GET it with the same API key.',
      example: '/v1/videos/vid_01hz8x4m2k3n5p6q7r8s9t0v1w/content',
    }),
    duration_s: z.number().nullable(),
    frames: z.number().int().nullable(),
    bytes: z.number().int().nullable(),
    error: z.object({ type: z.string(), detail: z.string() }).nullable(),
    created_at: z.string(),
    finished_at: z.string().nullable(),
    expires_at: z
      .string()
      .openapi({ description: 'When the video is deleted (LIKENESS_VIDEO_RETENTION_H).' }),
  })
  .openapi('Video');

const videoId = IdParam('Video', 'vid_01hz8x4m2k3n5p6q7r8s9t0v1w');

const createVideo = createRoute({
  method: 'post',
  path: '/v1/sessions/{id}/videos',
  operationId: 'createVideo',
  summary: 'Render a stored MP4 in the background; it gets a URL',
  description:
    'Like /generate, but the MP4 is kept (for LIKENESS_VIDEO_RETENTION_H hours) and fetched by URL. Answers ' +
    '202 at once with status "rendering"; the video.ready (or video.failed) webhook says when it is done. ' +
    'With ?wait=true the answer comes when the video is done (201, or the failure as a problem).',
  tags,
  security: SECURITY,
  request: {
    params: IdParam('Session', 'ses_01hz8x4m2k3n5p6q7r8s9t0v1w'),
    query: z.object({
      wait: z
        .enum(['true', 'false'])
        .optional()
        .openapi({ description: 'true: answer once the video is ready or failed.' }),
    }),
    body: { content: { 'application/json': { schema: GenerateBody } }, required: true },
  },
  responses: {
    201: { content: { 'application/json': { schema: VideoSchema } }, description: 'Ready (wait=true)' },
    202: { content: { 'application/json': { schema: VideoSchema } }, description: 'Accepted: rendering' },
    400: problemResponse('Invalid fields'),
    403: problemResponse('The session’s media cap is used up'),
    404: problemResponse('No such session'),
    409: problemResponse('Session ended, expired, or not on_demand'),
    422: problemResponse('Text too long, unsupported characters or unknown voice'),
    429: problemResponse('Renders at capacity: retry after the Retry-After seconds'),
    502: problemResponse('wait=true: the speech engine failed on this text'),
  },
});

const getVideo = createRoute({
  method: 'get',
  path: '/v1/videos/{id}',
  operationId: 'getVideo',
  summary: 'A stored video’s status',
  tags,
  security: SECURITY,
  request: { params: videoId },
  responses: {
    200: { content: { 'application/json': { schema: VideoSchema } }, description: 'The video' },
    404: problemResponse('No such video'),
  },
});

const listVideos = createRoute({
  method: 'get',
  path: '/v1/videos',
  operationId: 'listVideos',
  summary: 'Stored videos, oldest first',
  tags,
  security: SECURITY,
  request: { query: PageQuery },
  responses: {
    200: {
      content: {
        'application/json': {
          schema: z.object({ data: z.array(VideoSchema), next_cursor: z.string().nullable() }),
        },
      },
      description: 'A page of videos',
    },
  },
});

const videoContent = createRoute({
  method: 'get',
  path: '/v1/videos/{id}/content',
  operationId: 'getVideoContent',
  summary: 'The MP4 of a ready video',
  tags,
  security: SECURITY,
  request: { params: videoId },
  responses: {
    200: {
      content: { 'video/mp4': { schema: z.any().openapi({ type: 'string', format: 'binary' }) } },
      description: 'The video',
    },
    404: problemResponse('No such video'),
    409: problemResponse('Still rendering, or failed'),
  },
});

const deleteVideo = createRoute({
  method: 'delete',
  path: '/v1/videos/{id}',
  operationId: 'deleteVideo',
  summary: 'Delete a stored video and its file',
  tags,
  security: SECURITY,
  request: { params: videoId },
  responses: {
    204: { description: 'Deleted' },
    404: problemResponse('No such video'),
    409: problemResponse('Still rendering'),
  },
});

export function registerVideoRoutes(app: Api, services: () => Services) {
  const view = (v: VideoRow) => ({
    id: v.id,
    session_id: v.session_id,
    character_id: v.character_id,
    status: v.status,
    url: `/v1/videos/${v.id}/content`,
    duration_s: v.duration_s,
    frames: v.frames,
    bytes: v.bytes === null ? null : Number(v.bytes),
    error: v.error,
    created_at: v.created_at.toISOString(),
    finished_at: v.finished_at?.toISOString() ?? null,
    expires_at: new Date(v.created_at.getTime() + services().config.videoRetentionH * 3600_000).toISOString(),
  });

  app.openapi(createVideo, (async (c: Parameters<Parameters<typeof app.openapi>[1]>[0]) => {
    const s = services();
    const tenantId = c.get('auth').tenantId;
    const body = c.req.valid('json' as never) as z.infer<typeof GenerateBody>;
    const voice = body.voice !== undefined ? s.speech.resolveVoice(body.voice) : undefined;
    const row = await s.videos.start(tenantId, c.req.param('id')!, { ...body, voice });
    const location = { Location: `/v1/videos/${row.id}` };
    if (c.req.query('wait') !== 'true') return c.json(view(row), 202, location);
    const done = await s.videos.settled(tenantId, row.id);
    if (done.status === 'failed' && done.error) {
      // The failure as the problem it was (422, 502, ...): the row stays, listed as failed.
      throw new Problem(done.error.type as ProblemSlug, done.error.detail, { video_id: done.id });
    }
    return c.json(view(done), 201, location);
  }) as never);
  app.openapi(getVideo, async (c) =>
    c.json(view(await services().videos.get(c.get('auth').tenantId, c.req.valid('param').id)), 200),
  );
  app.openapi(listVideos, async (c) => {
    const page = await services().videos.list(c.get('auth').tenantId, c.req.valid('query'));
    return c.json({ data: page.data.map(view), next_cursor: page.next_cursor }, 200);
  });
  app.openapi(videoContent, (async (c: Parameters<Parameters<typeof app.openapi>[1]>[0]) => {
    const { path, row } = await services().videos.file(c.get('auth').tenantId, c.req.param('id')!);
    const stream = fs.createReadStream(path);
    return c.body(Readable.toWeb(stream) as ReadableStream, 200, {
      'Content-Type': 'video/mp4',
      'Content-Length': String(row.bytes),
      'Content-Disposition': `inline; filename="${row.id}.mp4"`,
      'X-Likeness-Duration-S': (row.duration_s ?? 0).toFixed(3),
    });
  }) as never);
  app.openapi(deleteVideo, async (c) => {
    await services().videos.remove(c.get('auth').tenantId, c.req.valid('param').id);
    return c.body(null, 204);
  });
}
