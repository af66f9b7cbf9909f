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
    const dir = path.join(opts.dataDir, 'db');
    await fs.mkdir(dir, { recursive: true });
    const client = await PGlite.create(dir);
    db = new Kysely<Database>({ dialect: new PGliteDialect(client) });
    backend = 'pglite';
  }
  await migrate(db);
  return { db, backend, close: () => db.destroy() };
}
