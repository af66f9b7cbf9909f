import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { sql } from 'kysely';
import { openStore } from './db.ts';

describe('embedded store', () => {
  it('creates its cluster on a first start, then opens it with small memory settings', async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'store-'));
    for (const start of ['first', 'second']) {
      const store = await openStore({ dataDir });
      try {
        assert.equal(store.backend, 'pglite');
        const { rows } = await sql<{ shared_buffers: string }>`show shared_buffers`.execute(store.db);
        assert.equal(rows[0]?.shared_buffers, '16MB', `${start} start`);
        // Migrated: the tables exist.
        await store.db.selectFrom('characters').select('id').limit(1).execute();
      } finally {
        await store.close();
      }
    }
    assert.deepEqual(fs.readdirSync(dataDir), ['db'], 'no half-made cluster left beside it');
  });
});
