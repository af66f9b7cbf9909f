import type { SessionTransitionEvent } from '../sessions/session-service.ts';
import type { UsageRecorded } from '../usage/usage-ledger.ts';
import type { EventSink } from './events.ts';

/** Fractions of a session's media cap that raise `usage.threshold` as they are crossed. */
export const USAGE_THRESHOLDS = [0.8, 1] as const;

/**
 * What the rest of the server tells webhooks, in one place: a session becoming active, a session's end (once
 * its last media seconds are recorded, so `media_seconds` is final), and media crossing a threshold of the
 * session's cap. The sources stay ignorant of webhooks: they expose hooks, this fills them.
 */
export function connectEventSources(
  sink: EventSink & { emitQuietly(...args: Parameters<EventSink['emit']>): void },
  sources: {
    sessions: { on(event: 'transition', fn: (e: SessionTransitionEvent) => void): unknown };
    live: { onEnded: ((e: SessionTransitionEvent) => void) | undefined };
    usage: {
      on(event: 'recorded', fn: (e: UsageRecorded) => void): unknown;
      sessionSeconds(sessionId: string): Promise<number>;
    };
    quota: { plan(tenantId: string): Promise<number | null>; usedSeconds(tenantId: string): Promise<number> };
  },
): void {
  const round = (s: number) => Math.round(s * 1000) / 1000;
  // The tenant's monthly plan: the same thresholds, over every session of the month.
  const tenantThresholds = async (e: UsageRecorded) => {
    const minutes = await sources.quota.plan(e.tenantId);
    if (minutes === null) return;
    const after = await sources.quota.usedSeconds(e.tenantId);
    const before = after - (e.after - e.before);
    for (const fraction of USAGE_THRESHOLDS) {
      const at = fraction * minutes * 60;
      if (before < at && after >= at)
        sink.emitQuietly(e.tenantId, 'usage.threshold', {
          scope: 'tenant',
          threshold: fraction,
          used_minutes: round(after / 60),
          monthly_minutes: minutes,
        });
    }
  };
  sources.sessions.on('transition', (e) => {
    if (e.to !== 'active') return;
    const s = e.session;
    sink.emitQuietly(s.tenant_id, 'session.started', {
      session_id: s.id,
      character_id: s.character_id,
      user_id: s.user_id,
      mode: s.mode,
      started_at: s.activated_at?.toISOString() ?? new Date().toISOString(),
    });
  });
  sources.live.onEnded = (e) => {
    const s = e.session;
    void sources.usage
      .sessionSeconds(s.id)
      .then((seconds) =>
        sink.emitQuietly(s.tenant_id, 'session.ended', {
          session_id: s.id,
          character_id: s.character_id,
          user_id: s.user_id,
          mode: s.mode,
          status: e.to,
          end_reason: e.reason ?? s.end_reason,
          media_seconds: round(seconds),
          media_minutes: round(seconds / 60),
          ended_at: s.finished_at?.toISOString() ?? new Date().toISOString(),
        }),
      )
      .catch(() => undefined);
  };
  sources.usage.on('recorded', (e) => {
    void tenantThresholds(e).catch(() => undefined);
    for (const fraction of USAGE_THRESHOLDS) {
      const at = fraction * e.maxS;
      if (e.before < at && e.after >= at)
        sink.emitQuietly(e.tenantId, 'usage.threshold', {
          scope: 'session',
          session_id: e.sessionId,
          threshold: fraction,
          used_s: round(e.after),
          limit_s: e.maxS,
        });
    }
  });
}
