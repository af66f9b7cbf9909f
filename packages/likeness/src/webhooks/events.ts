import type { WebhookEventType } from '../store/schema.ts';

/** Every event a webhook can subscribe to, and what its `data` carries (README "Webhooks"). */
export const WEBHOOK_EVENTS: readonly WebhookEventType[] = [
  'session.started',
  'session.ended',
  'video.ready',
  'video.failed',
  'usage.threshold',
];

export type { WebhookEventType };

/** The body of every delivery, as Standard Webhooks recommends: a type, a timestamp, and the data. */
export interface WebhookPayload {
  type: WebhookEventType;
  timestamp: string;
  data: Record<string, unknown>;
}

/** Whoever emits events (sessions, videos, usage) sees only this. */
export interface EventSink {
  emit(tenantId: string, type: WebhookEventType, data: Record<string, unknown>): Promise<void>;
}
