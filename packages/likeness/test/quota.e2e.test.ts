/**
 * Plans and quotas in media minutes: a sandbox by default, 402 past the cap for sessions and renders, a cap
 * that holds under 20 racing renders (overshoot at most one), and a live session warned at 80 % and ended at
 * 100 %.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { MediaEvent } from '../src/realtime/media-session.ts';
import { ADMIN_KEY, startTestServer, type TestServer } from './helpers/test-server.ts';
import { connectWhep } from './helpers/whep-client.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('plans and quotas', () => {
  let t: TestServer;
  const api = (method: string, path: string, body?: unknown, key = ADMIN_KEY) =>
    fetch(`${t.server.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
  /** A tenant with a plan, its admin key, and Kai's id there. */
  async function tenant(plan?: { monthly_minutes: number | null }) {
    const res = await api('POST', '/v1/tenants', { name: 'quota test', ...(plan ? { plan } : {}) });
    assert.equal(res.status, 201);
    const body = (await res.json()) as {
      tenant: { id: string; plan: { monthly_minutes: number | null } };
      api_key: { key: string };
    };
    const chars = (await (await api('GET', '/v1/characters', undefined, body.api_key.key)).json()) as {
      data: { id: string; slug: string }[];
    };
    return { ...body, key: body.api_key.key, kai: chars.data.find((c) => c.slug === 'kai')!.id };
  }
  const onDemand = async (key: string, character: string) => {
    const res = await api(
      'POST',
      '/v1/sessions',
      { character_id: character, user_id: 'u', mode: 'on_demand' },
      key,
    );
    return { status: res.status, body: (await res.json()) as { id: string; type?: string } };
  };

  before(async () => {
    t = await startTestServer({ env: { LIKENESS_MAX_RENDERS: '4', LIKENESS_MAX_RENDER_QUEUE: '30' } });
  });
  after(async () => {
    await t?.close();
  });

  it('gives a new tenant the 5-minute sandbox, takes plans from the operator, and refuses bad plans', async () => {
    const sandbox = await tenant();
    assert.equal(sandbox.tenant.plan.monthly_minutes, 5);
    const usage = (await (await api('GET', '/v1/usage', undefined, sandbox.key)).json()) as {
      quota: { monthly_minutes: number; used_minutes: number; remaining_minutes: number; resets_at: string };
    };
    assert.deepEqual(
      { ...usage.quota, resets_at: undefined },
      { monthly_minutes: 5, used_minutes: 0, remaining_minutes: 5, resets_at: undefined },
    );
    assert.ok(new Date(usage.quota.resets_at).getUTCDate() === 1);
    const paid = await tenant({ monthly_minutes: 600 });
    assert.equal(paid.tenant.plan.monthly_minutes, 600);
    const changed = await api('PATCH', `/v1/tenants/${sandbox.tenant.id}`, {
      plan: { monthly_minutes: null },
    });
    assert.equal(changed.status, 200);
    assert.equal(((await changed.json()) as { plan: { monthly_minutes: null } }).plan.monthly_minutes, null);
    for (const plan of [
      { monthly_minutes: -1 },
      { monthly_minutes: 1e12 },
      { monthly_minutes: 'lots' },
      {},
    ]) {
      const res = await api('POST', '/v1/tenants', { name: 'bad', plan });
      assert.equal(res.status, 400, JSON.stringify(plan));
      assert.equal(res.headers.get('content-type'), 'application/problem+json');
    }
    assert.equal((await api('PATCH', '/v1/tenants/ten_gone', { plan: { monthly_minutes: 5 } })).status, 404);
    const notOperator = await api(
      'PATCH',
      `/v1/tenants/${paid.tenant.id}`,
      { plan: { monthly_minutes: 1e6 } },
      paid.key,
    );
    assert.equal(notOperator.status, 403);
  });

  it('refuses sessions and renders with 402 once the minutes are used, and says so in usage', async () => {
    const small = await tenant({ monthly_minutes: 0.02 }); // 1.2 s
    const s = await onDemand(small.key, small.kai);
    assert.equal(s.status, 201);
    // Nothing running, something left: this render may pass the cap (the one allowed overshoot).
    const first = await api(
      'POST',
      `/v1/sessions/${s.body.id}/generate`,
      { text: 'Hello there, how are you?' },
      small.key,
    );
    assert.equal(first.status, 200);
    await first.arrayBuffer();
    for (const [path, body] of [
      [`/v1/sessions/${s.body.id}/generate`, { text: 'Again.' }],
      [`/v1/sessions/${s.body.id}/videos`, { text: 'Again.' }],
      [`/v1/sessions/${s.body.id}/animation`, { text: 'Again.' }],
      ['/v1/sessions', { character_id: small.kai, user_id: 'u', mode: 'realtime' }],
    ] as const) {
      const res = await api('POST', path, body, small.key);
      assert.equal(res.status, 402, path);
      const problem = (await res.json()) as { type: string; remaining_minutes: number };
      assert.equal(problem.type, '/problems/quota-exceeded');
      assert.equal(problem.remaining_minutes, 0);
    }
    const usage = (await (await api('GET', '/v1/usage', undefined, small.key)).json()) as {
      quota: { used_minutes: number; remaining_minutes: number };
    };
    assert.ok(usage.quota.used_minutes > 0.02);
    assert.equal(usage.quota.remaining_minutes, 0);
  });

  it('holds the cap under 20 racing renders: at most one render past it', async () => {
    const racing = await tenant({ monthly_minutes: 0.1 }); // 6 s
    const s = await onDemand(racing.key, racing.kai);
    const text = 'Hello there, how are you today?';
    const results = await Promise.all(
      Array.from({ length: 20 }, async () => {
        const res = await api('POST', `/v1/sessions/${s.body.id}/generate`, { text }, racing.key);
        await res.arrayBuffer();
        return { status: res.status, seconds: Number(res.headers.get('x-likeness-duration-s') ?? 0) };
      }),
    );
    const ok = results.filter((r) => r.status === 200);
    assert.ok(
      results.every((r) => r.status === 200 || r.status === 402),
      results.map((r) => r.status).join(' '),
    );
    const used =
      (
        (await (await api('GET', '/v1/usage', undefined, racing.key)).json()) as {
          quota: { used_minutes: number };
        }
      ).quota.used_minutes * 60;
    const longest = Math.max(...ok.map((r) => r.seconds));
    assert.ok(ok.length >= 2, `${ok.length} renders passed`);
    assert.ok(
      used - 6 <= longest + 0.05,
      `used ${used.toFixed(2)} s of 6 s: over by more than one render (${longest} s)`,
    );
  });

  it('warns a live session at 80 % and ends it at 100 % of the month', async () => {
    const live = await tenant({ monthly_minutes: 0.1 }); // 6 s: the first 5 s meter tick warns, then it ends
    const res = await api(
      'POST',
      '/v1/sessions',
      { character_id: live.kai, user_id: 'u', mode: 'realtime' },
      live.key,
    );
    const session = (await res.json()) as { id: string };
    const token = (await (
      await api('POST', `/v1/sessions/${session.id}/token`, undefined, live.key)
    ).json()) as {
      token: string;
      whep_url: string;
    };
    const viewer = await connectWhep(t.server.url, token.whep_url, token.token);
    const events: MediaEvent[] = [];
    const unsubscribe = await t.server.services.live.subscribe(live.tenant.id, session.id, (e) =>
      events.push(e),
    );
    try {
      let status = '';
      for (let i = 0; i < 100 && status !== 'ended'; i++) {
        await sleep(200);
        status = (
          (await (await api('GET', `/v1/sessions/${session.id}`, undefined, live.key)).json()) as {
            status: string;
          }
        ).status;
      }
      const ended = (await (await api('GET', `/v1/sessions/${session.id}`, undefined, live.key)).json()) as {
        status: string;
        end_reason: string;
      };
      assert.equal(ended.status, 'ended');
      assert.equal(ended.end_reason, 'quota_exceeded');
      // Ended on time: the media metered is within a tick's rounding of the 6 s.
      const used = (
        (await (await api('GET', '/v1/usage', undefined, live.key)).json()) as {
          quota: { used_minutes: number };
        }
      ).quota.used_minutes;
      assert.ok(used * 60 <= 6.5, `metered ${(used * 60).toFixed(2)} s of 6 s`);
      const types = events.map((e) => e.type);
      assert.ok(types.includes('quota.warning'), types.join(' '));
      assert.ok(types.includes('quota.exceeded'));
      assert.ok(types.indexOf('quota.warning') < types.indexOf('quota.exceeded'));
    } finally {
      unsubscribe();
      viewer.close();
    }
  });
});
