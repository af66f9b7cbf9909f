import fs from 'node:fs/promises';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import { migrate } from './migrations.ts';
import { PGliteDialect } from './pglite-dialect.ts';
import type { Database } from './schema.ts';

export interface Store {
  db: Kysely<Database>;
  backend: 'pglite' | 'postgres';
  close(): Promise<void>;
}

/**
 * Opens the database: Postgres when a URL is given, otherwise an embedded PGlite cluster persisted under
 * dataDir/db. Both speak the same SQL, so every query in the project serves both. Migrations run here.
 */
export async function openStore(opts: { dataDir: string; databaseUrl?: string | undefined }): Promise<Store> {
  let db: Kysely<Database>;
  let backend: Store['backend'];
  if (opts.databaseUrl) {
    const pool = new pg.Pool({ connectionString: opts.databaseUrl, max: 10 });
    db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
    backend = 'postgres';
  } else {
    const client = await openPGlite(path.join(opts.dataDir, 'db'));
    db = new Kysely<Database>({ dialect: new PGliteDialect(client) });
    backend = 'pglite';
  }
  await migrate(db);
  return { db, backend, close: () => db.destroy() };
}

/**
 * Opens the embedded cluster. A new cluster is created beside its final place and renamed into it when
 * complete: a first start killed halfway (creating a cluster takes seconds) leaves no half-made database
 * that every later start would fail on.
 */
async function openPGlite(dir: string): Promise<PGlite> {
  const exists = await fs
    .access(path.join(dir, 'PG_VERSION'))
    .then(() => true)
    .catch(() => false);
  if (!exists) {
    const creating = `${dir}.creating`;
    await fs.rm(creating, { recursive: true, force: true });
    await fs.rm(dir, { recursive: true, force: true }); // an empty or broken leftover
    await fs.mkdir(creating, { recursive: true });
    const fresh = await PGlite.create(creating);
    await fresh.close();
    await fs.rename(creating, dir);
  }
  return PGlite.create(dir);
}
