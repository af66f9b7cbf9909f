import { type Kysely, sql } from 'kysely';
import { Problem } from '../errors.ts';
import type { Database } from '../store/schema.ts';

/** Minutes a month for a tenant created without a plan (POST /v1/tenants without `plan`). */
export const SANDBOX_MONTHLY_MINUTES = 5;
/** The most a plan may hold: a month of continuous media, times a thousand sessions. */
export const MAX_MONTHLY_MINUTES = 31 * 24 * 60 * 1000;

export interface QuotaStatus {
  /** null: unlimited. */
  monthly_minutes: number | null;
  used_minutes: number;
  remaining_minutes: number | null;
  /** Start of the next calendar month (UTC), when `used` starts again from 0. */
  resets_at: string;
}

/** Speech runs at about 15 characters a second; estimates err long, so reservations rarely fall short. */
export const estimateSpeechSeconds = (text: string) => Math.max(1, text.length / 12);

const round2 = (x: number) => Math.round(x * 100) / 100;

export function monthStart(now: Date): Date {
  return new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1));
}

/**
 * Monthly media minutes per tenant (the unit the product is sold in): live and on-demand media seconds
 * actually delivered, counted in the usage ledger. Renders reserve their estimated length while they run, so
 * racing requests cannot all pass the same last minute: a render starts only if what is used, what running
 * renders have reserved and its own estimate fit, or, when nothing else is running, if anything is left at
 * all. So a cap is overshot by at most one render. Reservations live in this process (one process owns a
 * data directory).
 */
export class QuotaService {
  private readonly reserved = new Map<string, { seconds: number; count: number }>();

  constructor(private readonly db: Kysely<Database>) {}

  async plan(tenantId: string): Promise<number | null> {
    const row = await this.db
      .selectFrom('tenants')
      .select('monthly_minutes')
      .where('id', '=', tenantId)
      .executeTakeFirst();
    if (!row) throw new Problem('not-found', `No tenant with id ${tenantId}.`);
    return row.monthly_minutes === null ? null : Number(row.monthly_minutes);
  }

  async usedSeconds(tenantId: string, now = new Date()): Promise<number> {
    const row = await this.db
      .selectFrom('usage_entries')
      .select(sql<number>`coalesce(sum(media_seconds), 0)`.as('total'))
      .where('tenant_id', '=', tenantId)
      .where('recorded_at', '>=', monthStart(now))
      .executeTakeFirstOrThrow();
    return Number(row.total);
  }

  async status(tenantId: string, now = new Date()): Promise<QuotaStatus> {
    const minutes = await this.plan(tenantId);
    const used = (await this.usedSeconds(tenantId, now)) / 60;
    const next = monthStart(now);
    next.setUTCMonth(next.getUTCMonth() + 1);
    return {
      monthly_minutes: minutes,
      used_minutes: round2(used),
      remaining_minutes: minutes === null ? null : round2(Math.max(0, minutes - used)),
      resets_at: next.toISOString(),
    };
  }

  private exhausted(status: QuotaStatus, what: string): Problem {
    return new Problem(
      'quota-exceeded',
      `This tenant has used its ${status.monthly_minutes} media minutes for the month (${status.used_minutes} used); ${what} Minutes come back at ${status.resets_at}, or the operator can raise the plan.`,
      { ...status },
    );
  }

  /** For new sessions: refused once nothing is left. */
  async assertMinutesLeft(tenantId: string, what = 'no new session can start.'): Promise<void> {
    const status = await this.status(tenantId);
    if (status.remaining_minutes !== null && status.remaining_minutes <= 0)
      throw this.exhausted(status, what);
  }

  /**
   * Reserves a render's estimated seconds until `release` (after its usage is recorded, or it failed).
   * 402 quota-exceeded when it may not start (see the class comment).
   */
  async reserve(tenantId: string, estimateS: number): Promise<{ release(): void }> {
    const minutes = await this.plan(tenantId);
    if (minutes === null) return { release: () => undefined };
    const used = await this.usedSeconds(tenantId);
    // From here to the reservation nothing awaits: racing requests see each other's reservations.
    const held = this.reserved.get(tenantId) ?? { seconds: 0, count: 0 };
    const cap = minutes * 60;
    const fits = used + held.seconds + estimateS <= cap;
    const lastOne = held.count === 0 && used < cap;
    if (!fits && !lastOne) {
      const status = await this.status(tenantId);
      throw this.exhausted(
        status,
        held.count
          ? `renders already running hold the rest (${held.count}); retry when they finish.`
          : 'no new render can start.',
      );
    }
    held.seconds += estimateS;
    held.count++;
    this.reserved.set(tenantId, held);
    let released = false;
    return {
      release: () => {
        if (released) return;
        released = true;
        held.seconds -= estimateS;
        held.count--;
        if (held.count === 0) this.reserved.delete(tenantId);
      },
    };
  }
}
