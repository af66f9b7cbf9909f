import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type ExpiryClock, expiryDue, isExpired, isLive } from './lifecycle.ts';

const t0 = new Date('2026-01-01T00:00:00Z');
const at = (s: number) => new Date(t0.getTime() + s * 1000);
const session = (over: Partial<ExpiryClock> = {}): ExpiryClock => ({
  status: 'active',
  created_at: t0,
  activated_at: t0,
  last_activity_at: t0,
  idle_timeout_s: 60,
  max_duration_s: 600,
  ...over,
});

describe('session lifecycle', () => {
  it('only created and active are live', () => {
    assert.deepEqual((['created', 'active', 'ended', 'expired'] as const).map(isLive), [
      true,
      true,
      false,
      false,
    ]);
  });

  it('expires on idle when activity stops, counting from the last activity', () => {
    const s = session({ last_activity_at: at(100) });
    assert.deepEqual(expiryDue(s), { reason: 'idle_timeout', at: at(160) });
    assert.equal(isExpired(s, at(159.999)), false);
    assert.equal(isExpired(s, at(160)), true);
  });

  it('expires on max duration from creation even while active', () => {
    const s = session({ last_activity_at: at(590) });
    assert.deepEqual(expiryDue(s), { reason: 'max_duration', at: at(600) });
    assert.equal(isExpired(s, at(601)), true);
  });

  it('never expires a session that is already over', () => {
    assert.equal(isExpired(session({ status: 'ended' }), at(10_000)), false);
    assert.equal(isExpired(session({ status: 'expired' }), at(10_000)), false);
  });
});
