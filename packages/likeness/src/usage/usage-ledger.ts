import { EventEmitter } from 'node:events';
import { type Kysely, sql } from 'kysely';
import { newId } from '../ids.ts';
import type { SessionService } from '../sessions/session-service.ts';
import type { Database, SessionQuality } from '../store/schema.ts';

export type UsageGroupBy = 'session' | 'character' | 'user';

export interface UsageRow {
  key: string;
  media_seconds: number;
  media_minutes: number;
  entries: number;
  /** group_by=session only. */
  quality?: SessionQuality | null;
}

const GROUP_COLUMN = { session: 'session_id', character: 'character_id', user: 'user_id' } as const;

/**
 * Media seconds per session, append-only. Producers of media (the MP4 generator, realtime transports) call
 * `record` with the seconds they delivered; it refuses sessions that are no longer live.
 */
export interface UsageRecorded {
  tenantId: string;
  sessionId: string;
  kind: string;
  /** The session's media seconds before and after this record, and its cap. */
  before: number;
  after: number;
  maxS: number;
}

/** Emits 'recorded' after each record (webhooks' thresholds, metrics). */
export class UsageLedger extends EventEmitter<{ recorded: [UsageRecorded] }> {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly sessions: SessionService,
  ) {
    super();
  }

  /**
   * `final`: the last flush of media already sent when the session ended; recorded without requiring a live
   * session (and without counting as activity).
   */
  async record(args: {
    tenantId: string;
    sessionId: string;
    mediaSeconds: number;
    kind: string;
    final?: boolean;
  }): Promise<void> {
    if (!Number.isFinite(args.mediaSeconds) || args.mediaSeconds < 0)
      throw new Error(`invalid media seconds ${args.mediaSeconds}`);
    const session = args.final
      ? await this.sessions.get(args.tenantId, args.sessionId)
      : await this.sessions.touch(args.tenantId, args.sessionId);
    await this.db
      .insertInto('usage_entries')
      .values({
        id: newId('use'),
        tenant_id: args.tenantId,
        session_id: session.id,
        character_id: session.character_id,
        user_id: session.user_id,
        kind: args.kind,
        media_seconds: args.mediaSeconds,
        recorded_at: new Date(),
      })
      .execute();
    if (this.listenerCount('recorded')) {
      const after = await this.sessionSeconds(session.id);
      this.emit('recorded', {
        tenantId: args.tenantId,
        sessionId: session.id,
        kind: args.kind,
        before: after - args.mediaSeconds,
        after,
        maxS: session.max_duration_s,
      });
    }
  }

  /** Total media seconds a session has used so far (for caps). */
  async sessionSeconds(sessionId: string): Promise<number> {
    const row = await this.db
      .selectFrom('usage_entries')
      .select(sql<number>`coalesce(sum(media_seconds), 0)`.as('total'))
      .where('session_id', '=', sessionId)
      .executeTakeFirstOrThrow();
    return Number(row.total);
  }

  async query(args: { tenantId: string; from: Date; to: Date; groupBy: UsageGroupBy }) {
    const column = GROUP_COLUMN[args.groupBy];
    const rows = await this.db
      .selectFrom('usage_entries')
      .select([
        sql<string>`${sql.ref(column)}`.as('key'),
        sql<number>`sum(media_seconds)`.as('media_seconds'),
        sql<string>`count(*)`.as('entries'),
      ])
      .where('tenant_id', '=', args.tenantId)
      .where('recorded_at', '>=', args.from)
      .where('recorded_at', '<', args.to)
      .groupBy(column)
      .orderBy(column)
      .execute();
    // Per session, the live media's quality (null for on-demand sessions and live ones still running).
    const quality = new Map<string, SessionQuality | null>();
    if (args.groupBy === 'session' && rows.length) {
      const sessions = await this.db
        .selectFrom('sessions')
        .select(['id', 'quality'])
        .where('tenant_id', '=', args.tenantId)
        .where(
          'id',
          'in',
          rows.map((r) => r.key),
        )
        .execute();
      for (const s of sessions) quality.set(s.id, s.quality);
    }
    const data: UsageRow[] = rows.map((r) => ({
      key: r.key,
      media_seconds: round3(Number(r.media_seconds)),
      media_minutes: round3(Number(r.media_seconds) / 60),
      entries: Number(r.entries),
      ...(args.groupBy === 'session' ? { quality: quality.get(r.key) ?? null } : {}),
    }));
    const total = data.reduce((s, r) => s + r.media_seconds, 0);
    return { data, total: { media_seconds: round3(total), media_minutes: round3(total / 60) } };
  }
}

const round3 = (v: number) => Math.round(v * 1000) / 1000;
