import type { Kysely, Selectable } from 'kysely';
import type { Logger } from 'pino';
import type { WebhookConfig } from '../config.ts';
import { Problem } from '../errors.ts';
import { newId } from '../ids.ts';
import { pageOf } from '../store/page.ts';
import type { Database, WebhookDeliveriesTable, WebhooksTable } from '../store/schema.ts';
import { WebhookDispatcher } from './dispatcher.ts';
import type { EventSink, WebhookEventType, WebhookPayload } from './events.ts';
import { newWebhookSecret } from './signature.ts';
import { checkWebhookUrl } from './webhook-url.ts';

export type WebhookRow = Selectable<WebhooksTable>;
export type DeliveryRow = Selectable<WebhookDeliveriesTable>;

/**
 * Webhook endpoints per tenant and the events sent to them. `emit` writes one delivery row per subscribed
 * endpoint (in one statement, so an event is either queued for all its endpoints or for none) and wakes the
 * dispatcher, which sends, retries and records attempts.
 */
export class WebhookService implements EventSink {
  readonly dispatcher: WebhookDispatcher;

  constructor(
    private readonly db: Kysely<Database>,
    private readonly config: WebhookConfig,
    private readonly logger: Logger,
  ) {
    this.dispatcher = new WebhookDispatcher(db, config, logger);
  }

  async create(
    tenantId: string,
    input: { url: string; events: WebhookEventType[]; description?: string | undefined },
  ): Promise<WebhookRow> {
    const url = await checkWebhookUrl(input.url, { allowPrivate: this.config.allowPrivateUrls });
    const { count } = await this.db
      .selectFrom('webhooks')
      .select((eb) => eb.fn.countAll<string>().as('count'))
      .where('tenant_id', '=', tenantId)
      .executeTakeFirstOrThrow();
    if (Number(count) >= this.config.maxPerTenant)
      throw new Problem(
        'validation-error',
        `This tenant has ${count} webhooks, the most allowed (LIKENESS_MAX_WEBHOOKS). Delete one first.`,
      );
    const row = {
      id: newId('wh'),
      tenant_id: tenantId,
      url: url.href,
      events: [...new Set(input.events)],
      secret: newWebhookSecret(),
      description: input.description ?? null,
      created_at: new Date(),
    };
    await this.db
      .insertInto('webhooks')
      .values({ ...row, events: JSON.stringify(row.events) })
      .execute();
    return row;
  }

  async list(tenantId: string): Promise<WebhookRow[]> {
    return this.db
      .selectFrom('webhooks')
      .selectAll()
      .where('tenant_id', '=', tenantId)
      .orderBy('id')
      .execute();
  }

  async get(tenantId: string, id: string): Promise<WebhookRow> {
    const row = await this.db
      .selectFrom('webhooks')
      .selectAll()
      .where('tenant_id', '=', tenantId)
      .where('id', '=', id)
      .executeTakeFirst();
    if (!row) throw new Problem('not-found', `No webhook with id ${id}.`);
    return row;
  }

  /** Deletes the endpoint; deliveries still waiting for it are cancelled (and kept, with their attempts). */
  async remove(tenantId: string, id: string): Promise<void> {
    await this.get(tenantId, id);
    await this.db.transaction().execute(async (trx) => {
      await trx.deleteFrom('webhooks').where('id', '=', id).execute();
      await trx
        .updateTable('webhook_deliveries')
        .set({ status: 'cancelled', next_attempt_at: null, finished_at: new Date() })
        .where('webhook_id', '=', id)
        .where('status', '=', 'pending')
        .execute();
    });
  }

  async deliveries(
    tenantId: string,
    webhookId: string,
    opts: { limit: number; cursor?: string | undefined },
  ): Promise<{ data: DeliveryRow[]; next_cursor: string | null }> {
    await this.get(tenantId, webhookId);
    let q = this.db
      .selectFrom('webhook_deliveries')
      .selectAll()
      .where('tenant_id', '=', tenantId)
      .where('webhook_id', '=', webhookId)
      .orderBy('id')
      .limit(opts.limit + 1);
    if (opts.cursor) q = q.where('id', '>', opts.cursor);
    const rows = await q.execute();
    return pageOf(rows, opts.limit);
  }

  async emit(tenantId: string, type: WebhookEventType, data: Record<string, unknown>): Promise<void> {
    const hooks = (await this.list(tenantId)).filter((h) => h.events.includes(type));
    if (!hooks.length) return;
    const now = new Date();
    const payload: WebhookPayload = { type, timestamp: now.toISOString(), data };
    const body = JSON.stringify(payload);
    await this.db
      .insertInto('webhook_deliveries')
      .values(
        hooks.map((h) => ({
          id: newId('msg'),
          webhook_id: h.id,
          tenant_id: tenantId,
          event: type,
          payload: body,
          status: 'pending' as const,
          attempts: '[]',
          next_attempt_at: now,
          created_at: now,
          finished_at: null,
        })),
      )
      .execute();
    this.dispatcher.kick();
  }

  /** For callers that must not fail because an event could not be queued (the event is logged instead). */
  emitQuietly(tenantId: string, type: WebhookEventType, data: Record<string, unknown>): void {
    this.emit(tenantId, type, data).catch((err) =>
      this.logger.error({ err, tenantId, type }, 'webhook event could not be queued'),
    );
  }
}
