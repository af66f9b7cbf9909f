import type { Kysely, Selectable } from 'kysely';
import type { Logger } from 'pino';
import type { WebhookConfig } from '../config.ts';
import type { Database, WebhookAttempt, WebhookDeliveriesTable } from '../store/schema.ts';
import { webhookHeaders } from './signature.ts';
import { deliverableHost } from './webhook-url.ts';

type Delivery = Selectable<WebhookDeliveriesTable>;

/** Longest wait between two looks at the table, so a delivery due while the timer slept is never stranded. */
const MAX_IDLE_MS = 30_000;

/**
 * Sends persisted deliveries. The table is the queue: a delivery is a row before any byte is sent, each
 * attempt is appended to it, and a restart resumes whatever is still pending. A receiver cannot slow the
 * server: attempts run in the background, at most `concurrency` at once, each cut at `timeoutMs`, and the
 * response body is never read.
 */
export class WebhookDispatcher {
  private readonly inFlight = new Set<string>();
  private timer: NodeJS.Timeout | undefined;
  private scheduled = false;
  private stopped = true;
  private pumping: Promise<void> | undefined;

  constructor(
    private readonly db: Kysely<Database>,
    private readonly config: WebhookConfig,
    private readonly logger: Logger,
  ) {}

  start(): void {
    this.stopped = false;
    this.kick();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.pumping;
  }

  /** Look for due deliveries soon (coalesced: many kicks in one tick make one query). */
  kick(): void {
    if (this.stopped || this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.pumping = this.pump().catch((err) => {
        this.logger.error({ err }, 'webhook dispatcher: could not read the delivery queue');
        this.sleep(5000);
      });
    });
  }

  private sleep(ms: number): void {
    clearTimeout(this.timer);
    if (this.stopped) return;
    this.timer = setTimeout(() => this.kick(), Math.max(0, Math.min(ms, MAX_IDLE_MS)));
    this.timer.unref();
  }

  private async pump(): Promise<void> {
    if (this.stopped) return;
    const slots = this.config.concurrency - this.inFlight.size;
    const now = new Date();
    if (slots > 0) {
      let q = this.db
        .selectFrom('webhook_deliveries')
        .selectAll()
        .where('status', '=', 'pending')
        .where('next_attempt_at', '<=', now)
        .orderBy('next_attempt_at')
        .limit(slots);
      if (this.inFlight.size) q = q.where('id', 'not in', [...this.inFlight]);
      for (const row of await q.execute()) {
        this.inFlight.add(row.id);
        void this.attempt(row as Delivery).finally(() => {
          this.inFlight.delete(row.id);
          this.kick();
        });
      }
    }
    const next = await this.db
      .selectFrom('webhook_deliveries')
      .select('next_attempt_at')
      .where('status', '=', 'pending')
      .orderBy('next_attempt_at')
      .limit(1)
      .executeTakeFirst();
    if (next?.next_attempt_at) this.sleep(next.next_attempt_at.getTime() - Date.now());
    else this.sleep(MAX_IDLE_MS);
  }

  private async attempt(delivery: Delivery): Promise<void> {
    const hook = await this.db
      .selectFrom('webhooks')
      .select(['url', 'secret'])
      .where('id', '=', delivery.webhook_id)
      .executeTakeFirst();
    if (!hook) {
      await this.finish(delivery, 'cancelled', delivery.attempts);
      return;
    }
    const started = performance.now();
    const at = new Date();
    const attempt: WebhookAttempt = { at: at.toISOString(), ms: 0 };
    try {
      const refused = await deliverableHost(hook.url, { allowPrivate: this.config.allowPrivateUrls });
      if (refused) throw new Error(refused);
      const res = await fetch(hook.url, {
        method: 'POST',
        headers: webhookHeaders(hook.secret, delivery.id, Math.floor(at.getTime() / 1000), delivery.payload),
        body: delivery.payload,
        redirect: 'manual',
        signal: AbortSignal.timeout(this.config.timeoutMs),
      });
      attempt.status = res.status;
      // The receiver's answer is its status; its body is not ours to wait for.
      await res.body?.cancel().catch(() => undefined);
    } catch (err) {
      const e = err as Error & { cause?: { code?: string; message?: string } };
      attempt.error =
        e.name === 'TimeoutError'
          ? `no response within ${this.config.timeoutMs} ms`
          : (e.cause?.code ?? e.cause?.message ?? e.message);
    }
    attempt.ms = Math.round(performance.now() - started);
    const attempts = [...delivery.attempts, attempt];
    const ok = attempt.status !== undefined && attempt.status >= 200 && attempt.status < 300;
    if (ok) return this.finish(delivery, 'delivered', attempts);
    const retry = this.config.retryScheduleS[attempts.length - 1];
    if (retry === undefined) {
      this.logger.warn({ delivery: delivery.id, url: hook.url, attempts: attempts.length }, 'webhook failed');
      return this.finish(delivery, 'failed', attempts);
    }
    await this.db
      .updateTable('webhook_deliveries')
      .set({
        attempts: JSON.stringify(attempts),
        next_attempt_at: new Date(Date.now() + retry * 1000),
      })
      .where('id', '=', delivery.id)
      .where('status', '=', 'pending')
      .execute();
  }

  private async finish(delivery: Delivery, status: Delivery['status'], attempts: WebhookAttempt[]) {
    await this.db
      .updateTable('webhook_deliveries')
      .set({
        status,
        attempts: JSON.stringify(attempts),
        next_attempt_at: null,
        finished_at: new Date(),
      })
      .where('id', '=', delivery.id)
      .where('status', '=', 'pending')
      .execute();
  }
}
