import type { Kysely, Selectable } from 'kysely';
import type { Logger } from 'pino';
import type { AdmissionQueue } from '../admission.ts';
import { Problem } from '../errors.ts';
import { newId } from '../ids.ts';
import { pageOf } from '../store/page.ts';
import type { Database, VideosTable } from '../store/schema.ts';
import type { EventSink } from '../webhooks/events.ts';
import {
  checkOnDemandJob,
  type GenerateRequest,
  generateForSession,
  type OnDemandDeps,
} from './on-demand.ts';

export type VideoRow = Selectable<VideosTable>;

export interface VideoJobDeps extends OnDemandDeps {
  db: Kysely<Database>;
  queue: AdmissionQueue;
  events: EventSink;
  logger: Logger;
}

/**
 * Stored videos: POST /v1/sessions/{id}/videos renders in the background and keeps the MP4, so it has a URL
 * (GET /v1/videos/{id}/content) that agents, MCP clients and webhooks can hand on. Everything checkable is
 * checked before the row exists (no half-written record for bad input); the row says `ready` only once the
 * file is complete and in place, and `video.ready` / `video.failed` go to the tenant's webhooks.
 */
export class VideoJobs {
  private readonly running = new Map<string, Promise<VideoRow>>();

  constructor(private readonly deps: VideoJobDeps) {}

  /** Rows a crash left rendering can never finish: failed, with the reason. */
  async recoverInterrupted(): Promise<number> {
    const rows = await this.deps.db
      .updateTable('videos')
      .set({
        status: 'failed',
        error: JSON.stringify({
          type: 'interrupted',
          detail: 'The server stopped while this video rendered.',
        }),
        finished_at: new Date(),
      })
      .where('status', '=', 'rendering')
      .returning('id')
      .execute();
    return rows.length;
  }

  async start(tenantId: string, sessionId: string, req: GenerateRequest): Promise<VideoRow> {
    const { session } = await checkOnDemandJob(this.deps, tenantId, sessionId, req);
    await this.deps.quota.assertMinutesLeft(tenantId, 'no new render can start.');
    const row: VideoRow = {
      id: newId('vid'),
      tenant_id: tenantId,
      session_id: session.id,
      character_id: session.character_id,
      status: 'rendering',
      file: null,
      bytes: null,
      duration_s: null,
      frames: null,
      error: null,
      created_at: new Date(),
      finished_at: null,
    };
    this.deps.queue.assertRoom();
    await this.deps.db
      .insertInto('videos')
      .values({ ...row, error: JSON.stringify(null) })
      .execute();
    const job = this.deps.queue
      .run(() => generateForSession(this.deps, tenantId, sessionId, req, { keepAs: `videos/${row.id}.mp4` }))
      .then(
        (video) =>
          this.finish(row, {
            status: 'ready',
            file: `videos/${row.id}.mp4`,
            bytes: video.bytes,
            duration_s: video.durationS,
            frames: video.frames,
          }),
        (err: unknown) => {
          const problem =
            err instanceof Problem ? err : new Problem('internal-error', 'The video could not be rendered.');
          if (!(err instanceof Problem))
            this.deps.logger.error({ err, video: row.id }, 'video render failed');
          return this.finish(row, {
            status: 'failed',
            error: { type: problem.slug, detail: problem.message },
          });
        },
      )
      .finally(() => this.running.delete(row.id));
    this.running.set(row.id, job);
    return row;
  }

  private async finish(row: VideoRow, patch: Partial<VideoRow>): Promise<VideoRow> {
    const done = { ...row, ...patch, finished_at: new Date() };
    await this.deps.db
      .updateTable('videos')
      .set({
        status: done.status,
        file: done.file,
        bytes: done.bytes,
        duration_s: done.duration_s,
        frames: done.frames,
        error: JSON.stringify(done.error),
        finished_at: done.finished_at,
      })
      .where('id', '=', row.id)
      .execute();
    this.deps.events
      .emit(row.tenant_id, done.status === 'ready' ? 'video.ready' : 'video.failed', {
        video_id: row.id,
        session_id: row.session_id,
        character_id: row.character_id,
        status: done.status,
        duration_s: done.duration_s,
        url: `/v1/videos/${row.id}/content`,
        error: done.error,
      })
      .catch((err) => this.deps.logger.error({ err, video: row.id }, 'video event could not be queued'));
    return done;
  }

  /** Resolves when every video being rendered now is ready or failed. */
  async idle(): Promise<void> {
    await Promise.allSettled([...this.running.values()]);
  }

  /** Resolves when the video is ready or failed (at once if it already is). */
  async settled(tenantId: string, id: string): Promise<VideoRow> {
    const job = this.running.get(id);
    if (job) await job;
    return this.get(tenantId, id);
  }

  async get(tenantId: string, id: string): Promise<VideoRow> {
    const row = await this.deps.db
      .selectFrom('videos')
      .selectAll()
      .where('tenant_id', '=', tenantId)
      .where('id', '=', id)
      .executeTakeFirst();
    if (!row) throw new Problem('not-found', `No video with id ${id}.`);
    return row as VideoRow;
  }

  async list(tenantId: string, opts: { limit: number; cursor?: string | undefined }) {
    let q = this.deps.db
      .selectFrom('videos')
      .selectAll()
      .where('tenant_id', '=', tenantId)
      .orderBy('id')
      .limit(opts.limit + 1);
    if (opts.cursor) q = q.where('id', '>', opts.cursor);
    const rows = (await q.execute()) as VideoRow[];
    return pageOf(rows, opts.limit);
  }

  /** The MP4's path, once ready. */
  async file(tenantId: string, id: string): Promise<{ path: string; row: VideoRow }> {
    const row = await this.get(tenantId, id);
    if (row.status !== 'ready' || !row.file)
      throw new Problem(
        'video-not-ready',
        row.status === 'rendering'
          ? `Video ${id} is still rendering: wait for the video.ready webhook, or poll GET /v1/videos/${id}.`
          : `Video ${id} failed: ${row.error?.detail ?? 'unknown error'}`,
        { video_status: row.status },
      );
    return { path: this.deps.registrar.files.resolve(row.file), row };
  }

  async remove(tenantId: string, id: string): Promise<void> {
    const row = await this.get(tenantId, id);
    if (row.status === 'rendering')
      throw new Problem('video-not-ready', `Video ${id} is still rendering; delete it once it is done.`, {
        video_status: row.status,
      });
    await this.deps.db.deleteFrom('videos').where('id', '=', id).execute();
    if (row.file) await this.deps.registrar.files.remove(row.file);
  }

  /** Removes videos older than the retention (LIKENESS_VIDEO_RETENTION_H): rows first, then files. */
  async expire(now: Date): Promise<number> {
    const cutoff = new Date(now.getTime() - this.deps.config.videoRetentionH * 3600_000);
    const rows = await this.deps.db
      .deleteFrom('videos')
      .where('created_at', '<', cutoff)
      .where('status', '!=', 'rendering')
      .returning(['file'])
      .execute();
    for (const r of rows) if (r.file) await this.deps.registrar.files.remove(r.file);
    return rows.length;
  }
}
