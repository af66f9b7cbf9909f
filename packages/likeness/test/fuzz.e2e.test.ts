/**
 * Property-based fuzz of every route, on the embedded database and on PostgreSQL: whatever arrives, the
 * server answers, never with a 5xx; every 4xx is problem+json with a known type; a refused request leaves no
 * row and no file behind. FUZZ_RUNS and FUZZ_SEED override the case count and seed (`npm run bench:fuzz`
 * runs 10,000).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { fuzzRequests, sendAndCheck } from './helpers/fuzz.ts';
import { buildWorld, snapshot } from './helpers/fuzz-world.ts';
import { startPostgres } from './helpers/postgres.ts';
import { startTestServer, type TestServer } from './helpers/test-server.ts';

const RUNS = Number(process.env.FUZZ_RUNS ?? 250);
const SEED = process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : Date.now() % 2 ** 31;
// Small limits keep the cases that happen to be valid (a render, a registration) quick.
const ENV = {
  LIKENESS_MAX_TEXT_CHARS: '120',
  LIKENESS_MAX_MESSAGE_CHARS: '120',
  LIKENESS_MAX_CONCURRENT_SESSIONS: '50',
};

for (const backend of ['pglite', 'postgres'] as const) {
  describe(`fuzz on ${backend}`, () => {
    let t: TestServer;
    let pg: Awaited<ReturnType<typeof startPostgres>> | undefined;
    before(async () => {
      if (backend === 'postgres') pg = await startPostgres();
      t = await startTestServer({ env: { ...ENV, ...(pg ? { DATABASE_URL: pg.url } : {}) } });
    });
    after(async () => {
      await t?.close();
      pg?.stop();
    });

    it(`${RUNS} generated requests: no 5xx, problem+json for every 4xx, nothing left by refusals (seed ${SEED})`, async () => {
      const world = await buildWorld(t);
      const statuses = new Map<number, number>();
      await fc.assert(
        fc.asyncProperty(fuzzRequests(world), async (req) => {
          const before = await snapshot(t);
          const out = await sendAndCheck(req);
          statuses.set(out.status, (statuses.get(out.status) ?? 0) + 1);
          assert.equal(out.violation, undefined, `${req.label}: ${out.violation}`);
          if (out.status >= 400)
            assert.equal(await snapshot(t), before, `${req.label} (${out.problemType}) left something`);
          const health = await fetch(`${t.server.url}/healthz`);
          assert.equal(health.status, 200, 'the server is alive');
        }),
        { numRuns: RUNS, seed: SEED, endOnFailure: true },
      );
      const seen = [...statuses.keys()].sort();
      assert.ok(
        seen.some((s) => s >= 200 && s < 300),
        'some cases were valid',
      );
      assert.ok(seen.filter((s) => s >= 400).length >= 4, `a spread of refusals: ${seen.join(' ')}`);
    });
  });
}
