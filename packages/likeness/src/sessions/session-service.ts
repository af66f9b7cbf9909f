import { EventEmitter } from 'node:events';
import { type Kysely, type Selectable, sql } from 'kysely';
import type { Config } from '../config.ts';
import { Problem } from '../errors.ts';
import { newId } from '../ids.ts';
import { pageOf } from '../store/page.ts';
import type {
  BargeInSetting,
  Database,
  SessionQuality,
  SessionsTable,
  SessionTransition,
} from '../store/schema.ts';
import type { QuotaService } from '../usage/quota.ts';
import { type EndReason, expiryDue, isExpired, isLive, type SessionStatus } from './lifecycle.ts';

export type SessionRow = Selectable<SessionsTable>;

export interface SessionTransitionEvent {
  session: SessionRow;
  from: SessionStatus;
  to: SessionStatus;
  reason?: EndReason;
}

export interface CreateSessionInput {
  character_id: string;
  user_id: string;
  mode: 'realtime' | 'on_demand';
  max_duration_s?: number | undefined;
  idle_timeout_s?: number | undefined;
  greeting?: boolean | undefined;
  barge_in?: BargeInSetting | undefined;
}

/**
 * Sessions and their lifecycle. Expiry is applied both by a sweeper (so media and timers are torn down
 * promptly) and lazily on every read (so a client never sees a stale "active").
 * Emits 'transition' with a SessionTransitionEvent: the realtime layer listens to tear down media.
 */
export class SessionService extends EventEmitter<{ transition: [SessionTransitionEvent] }> {
  private sweeper: NodeJS.Timeout | undefined;

  constructor(
    private readonly db: Kysely<Database>,
    private readonly config: Config,
    private readonly quota?: Pick<QuotaService, 'assertMinutesLeft'>,
  ) {
    super();
  }

  startSweeper(): void {
    this.sweeper ??= setInterval(() => {
      this.sweep(new Date()).catch(() => undefined);
    }, this.config.sessions.sweepIntervalMs);
    this.sweeper.unref();
  }

  stopSweeper(): void {
    if (this.sweeper) clearInterval(this.sweeper);
    this.sweeper = undefined;
  }

  async create(tenantId: string, input: CreateSessionInput): Promise<SessionRow> {
    const character = await this.db
      .selectFrom('characters')
      .select('id')
      .where('tenant_id', '=', tenantId)
      .where('id', '=', input.character_id)
      .executeTakeFirst();
    if (!character) throw new Problem('not-found', `No character with id ${input.character_id}.`);
    const max = input.max_duration_s ?? this.config.sessions.maxDurationS;
    if (max > this.config.sessions.maxDurationCapS) {
      throw new Problem(
        'validation-error',
        `max_duration_s may be at most ${this.config.sessions.maxDurationCapS}.`,
        {
          errors: [{ path: 'max_duration_s', message: `at most ${this.config.sessions.maxDurationCapS}` }],
        },
      );
    }
    await this.quota?.assertMinutesLeft(tenantId);
    await this.sweep(new Date());
    const now = new Date();
    const row = {
      id: newId('ses'),
      tenant_id: tenantId,
      character_id: input.character_id,
      user_id: input.user_id,
      mode: input.mode,
      status: 'created' as const,
      end_reason: null,
      max_duration_s: max,
      idle_timeout_s: input.idle_timeout_s ?? this.config.sessions.idleTimeoutS,
      created_at: now,
      activated_at: null,
      finished_at: null,
      last_activity_at: now,
      transitions: [{ status: 'created', at: now.toISOString() }] as SessionTransition[],
      greeting: input.greeting ?? false,
      barge_in: input.barge_in ?? null,
      quality: null,
    };
    // Count and insert in one transaction, serialised per tenant by an advisory lock, so two concurrent
    // creates cannot both take the last slot.
    return this.db.transaction().execute(async (trx) => {
      await sql`SELECT pg_advisory_xact_lock(hashtext(${tenantId}))`.execute(trx);
      const { count } = await trx
        .selectFrom('sessions')
        .select((eb) => eb.fn.countAll<string>().as('count'))
        .where('tenant_id', '=', tenantId)
        .where('status', 'in', ['created', 'active'])
        .executeTakeFirstOrThrow();
      const limit = this.config.limits.maxConcurrentSessions;
      if (Number(count) >= limit) {
        throw new Problem(
          'too-many-sessions',
          `This tenant already has ${count} open sessions; the limit is ${limit}. End one first.`,
          {
            limit,
            retry_after_s: 30,
          },
        );
      }
      await trx
        .insertInto('sessions')
        .values({ ...row, transitions: JSON.stringify(row.transitions) })
        .execute();
      return row;
    });
  }

  async get(tenantId: string, id: string): Promise<SessionRow> {
    const row = await this.db
      .selectFrom('sessions')
      .selectAll()
      .where('tenant_id', '=', tenantId)
      .where('id', '=', id)
      .executeTakeFirst();
    if (!row) throw new Problem('not-found', `No session with id ${id}.`);
    const session = row as SessionRow;
    if (isExpired(session, new Date())) return this.expire(session);
    return session;
  }

  async list(
    tenantId: string,
    opts: { limit: number; cursor?: string | undefined; status?: SessionStatus | undefined },
  ) {
    await this.sweep(new Date());
    let q = this.db
      .selectFrom('sessions')
      .selectAll()
      .where('tenant_id', '=', tenantId)
      .orderBy('id', 'asc')
      .limit(opts.limit + 1);
    if (opts.cursor) q = q.where('id', '>', opts.cursor);
    if (opts.status) q = q.where('status', '=', opts.status);
    const rows = (await q.execute()) as SessionRow[];
    return pageOf(rows, opts.limit);
  }

  /**
   * Ends a session at the client's request (or, `quota_exceeded`, when its tenant's minutes ran out). Ending one
   * that is already over is a no-op.
   */
  async end(
    tenantId: string,
    id: string,
    reason: Extract<EndReason, 'client_ended' | 'quota_exceeded'> = 'client_ended',
  ): Promise<SessionRow> {
    const session = await this.get(tenantId, id);
    if (!isLive(session.status)) return session;
    return this.transition(session, 'ended', reason, new Date());
  }

  async setQuality(id: string, quality: SessionQuality): Promise<void> {
    await this.db
      .updateTable('sessions')
      .set({ quality: JSON.stringify(quality) })
      .where('id', '=', id)
      .execute();
  }

  /**
   * Marks work on a session: the first makes it active; every one resets the idle timer.
   * Throws 409 session-not-live when the session has ended or expired. Media producers call this.
   */
  async touch(tenantId: string, id: string): Promise<SessionRow> {
    const session = await this.get(tenantId, id);
    if (!isLive(session.status)) {
      throw new Problem(
        'session-not-live',
        `Session ${id} is ${session.status} (${session.end_reason}); start a new session.`,
        {
          session_status: session.status,
          end_reason: session.end_reason,
        },
      );
    }
    const now = new Date();
    if (session.status === 'created') return this.transition(session, 'active', undefined, now);
    await this.db.updateTable('sessions').set({ last_activity_at: now }).where('id', '=', id).execute();
    return { ...session, last_activity_at: now };
  }

  /** Expires every live session whose time is up. Returns how many it expired. */
  async sweep(now: Date): Promise<number> {
    const live = (await this.db
      .selectFrom('sessions')
      .selectAll()
      .where('status', 'in', ['created', 'active'])
      .execute()) as SessionRow[];
    let expired = 0;
    for (const s of live) {
      if (isExpired(s, now)) {
        await this.expire(s);
        expired++;
      }
    }
    return expired;
  }

  private expire(session: SessionRow): Promise<SessionRow> {
    const due = expiryDue(session);
    return this.transition(session, 'expired', due.reason, due.at);
  }

  private async transition(
    session: SessionRow,
    to: SessionStatus,
    reason: EndReason | undefined,
    at: Date,
  ): Promise<SessionRow> {
    const transitions = [
      ...session.transitions,
      { status: to, at: at.toISOString(), ...(reason ? { reason } : {}) },
    ];
    const final = to === 'ended' || to === 'expired';
    const patch = {
      status: to,
      transitions,
      ...(to === 'active' ? { activated_at: at, last_activity_at: at } : {}),
      ...(final ? { finished_at: at, end_reason: reason ?? null } : {}),
    };
    // Conditional on the old status, so two racing transitions cannot both apply.
    const result = await this.db
      .updateTable('sessions')
      .set({ ...patch, transitions: JSON.stringify(transitions) })
      .where('id', '=', session.id)
      .where('status', '=', session.status)
      .returning('id')
      .execute();
    if (result.length === 0) {
      const current = await this.db
        .selectFrom('sessions')
        .selectAll()
        .where('id', '=', session.id)
        .executeTakeFirstOrThrow();
      return current as SessionRow;
    }
    const updated = { ...session, ...patch } as SessionRow;
    this.emit('transition', { session: updated, from: session.status, to, ...(reason ? { reason } : {}) });
    return updated;
  }
}
