/**
 * The same schema and queries on a real PostgreSQL server (DATABASE_URL) as on the embedded PGlite.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ASTRONAUT, blob, readFixture } from './helpers/fixtures.ts';
import { startPostgres } from './helpers/postgres.ts';
import { ADMIN_KEY, problemOf, startTestServer, type TestServer } from './helpers/test-server.ts';

describe('on a PostgreSQL server (DATABASE_URL)', () => {
  let pg: Awaited<ReturnType<typeof startPostgres>>;
  let t: TestServer;

  before(async () => {
    pg = await startPostgres();
    t = await startTestServer({ env: { DATABASE_URL: pg.url, LIKENESS_MAX_CONCURRENT_SESSIONS: '2' } });
  });
  after(async () => {
    await t?.close();
    pg?.stop();
  });

  it('migrates, seeds the cast and serves the API', async () => {
    const health = (await (await fetch(`${t.server.url}/healthz`)).json()) as {
      backend: string;
      database: string;
    };
    assert.deepEqual([health.backend, health.database], ['postgres', 'ok']);
    const cast = (await t.client.listCharacters()).data.map((c) => c.slug).sort();
    assert.deepEqual(cast, ['kai', 'mika', 'nora', 'test-card', 'walter']);
  });

  it('registers, caches, runs sessions and meters usage, and survives a restart', async () => {
    const ada = await t.client.createCharacter({
      body: { name: 'Ada', portrait: blob(readFixture(ASTRONAUT), 'image/png') },
    });
    assert.equal(ada.identity.cached, false);
    const again = await t.client.createCharacter({
      body: { name: 'Ada 2', portrait: blob(readFixture(ASTRONAUT), 'image/png') },
    });
    assert.equal(again.identity.cached, true);

    const open = () =>
      t.client.createSession({ body: { character_id: ada.id, user_id: 'u1', mode: 'on_demand' } });
    const results = await Promise.allSettled([open(), open(), open()]);
    assert.equal(
      results.filter((r) => r.status === 'fulfilled').length,
      2,
      'the advisory lock holds the limit under a race',
    );
    const s = (results.find((r) => r.status === 'fulfilled') as PromiseFulfilledResult<{ id: string }>).value;
    const tenantId = (await t.server.services.tenancy.authenticate(ADMIN_KEY))!.tenantId;
    await t.server.services.usage.record({ tenantId, sessionId: s.id, mediaSeconds: 12.5, kind: 'mp4' });
    const usage = await t.client.getUsage({ query: { group_by: 'user' } });
    assert.deepEqual(
      usage.data.map((r) => [r.key, r.media_seconds]),
      [['u1', 12.5]],
    );
    const ended = await t.client.endSession({ path: { id: s.id } });
    assert.equal(ended.status, 'ended');
    assert.equal((await problemOf(() => t.client.keepaliveSession({ path: { id: s.id } }))).status, 409);

    await t.close();
    t = await startTestServer({ dataDir: t.dataDir, env: { DATABASE_URL: pg.url } });
    assert.equal((await t.client.getSession({ path: { id: s.id } })).status, 'ended');
    assert.equal((await t.client.getCharacter({ path: { id: ada.id } })).name, 'Ada');
  });
});
