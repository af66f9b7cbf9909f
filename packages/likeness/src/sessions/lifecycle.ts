/**
 * The session state machine, as pure functions so it can be tested without a clock or a database.
 *
 *   created --(first work)--> active --(DELETE)--> ended
 *      |                        |
 *      +--(DELETE)--> ended     +--(idle timeout | max duration)--> expired
 *      +--(idle timeout | max duration)--> expired
 *
 * ended and expired are final: a session in them refuses work with 409.
 */
export type SessionStatus = 'created' | 'active' | 'ended' | 'expired';
export type EndReason = 'client_ended' | 'idle_timeout' | 'max_duration' | 'quota_exceeded';

export const LIVE_STATUSES: readonly SessionStatus[] = ['created', 'active'];

export function isLive(status: SessionStatus): boolean {
  return status === 'created' || status === 'active';
}

export interface ExpiryClock {
  status: SessionStatus;
  created_at: Date;
  activated_at: Date | null;
  last_activity_at: Date;
  idle_timeout_s: number;
  max_duration_s: number;
}

/** When (and why) a live session expires; whichever limit comes first. */
export function expiryDue(s: ExpiryClock): {
  reason: Extract<EndReason, 'idle_timeout' | 'max_duration'>;
  at: Date;
} {
  const idleAt = s.last_activity_at.getTime() + s.idle_timeout_s * 1000;
  // Max duration counts from creation: a session that never connects still holds a slot.
  const maxAt = s.created_at.getTime() + s.max_duration_s * 1000;
  return maxAt <= idleAt
    ? { reason: 'max_duration', at: new Date(maxAt) }
    : { reason: 'idle_timeout', at: new Date(idleAt) };
}

export function isExpired(s: ExpiryClock, now: Date): boolean {
  return isLive(s.status) && expiryDue(s).at.getTime() <= now.getTime();
}
