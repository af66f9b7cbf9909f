/**
 * A registration pipeline upgrade (a new PIPELINE_VERSION): on the next start, cast members still on an identity
 * from the old pipeline move to the one the current pipeline makes from the same portrait; users' own
 * characters keep theirs.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import { describe, it } from 'node:test';
import { startTestServer } from './helpers/test-server.ts';

describe('cast after a registration upgrade', () => {
  it('moves cast members off identities from an older pipeline at start', async () => {
    let t = await startTestServer();
    const dataDir = t.dataDir;
    try {
      const db = t.server.services.store.db;
      const nora = (await t.client.listCharacters({ query: { limit: 100 } })).data.find(
        (c) => c.slug === 'nora',
      )!;
      const current = nora.identity.id;
      // Pretend Nora was registered by an older pipeline: her row points at an identity made by 'reg-0'.
      const row = await db
        .selectFrom('identities')
        .selectAll()
        .where('id', '=', current)
        .executeTakeFirstOrThrow();
      await db
        .insertInto('identities')
        .values({
          ...row,
          face_box: JSON.stringify(row.face_box),
          id: 'idn_from_an_older_pipeline',
          pipeline_version: 'reg-0',
        })
        .execute();
      await db
        .updateTable('characters')
        .set({ identity_id: 'idn_from_an_older_pipeline' })
        .where('id', '=', nora.id)
        .execute();
      await t.close();
      t = await startTestServer({ dataDir });
      const after = await t.client.getCharacter({ path: { id: nora.id } });
      assert.equal(after.identity.id, current, 'back on the current pipeline identity');
      const walter = (await t.client.listCharacters({ query: { limit: 100 } })).data.find(
        (c) => c.slug === 'walter',
      )!;
      assert.ok(walter.identity.id.startsWith('idn_'), 'the rest of the cast is untouched');
    } finally {
      await t.close();
      await fs.rm(dataDir, { recursive: true, force: true });
    }
  });
});
