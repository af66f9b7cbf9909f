import { type Kysely, sql } from 'kysely';
import type { Database } from './schema.ts';

/**
 * Ordered, append-only. Each runs once, inside a transaction, and is recorded in likeness_migrations.
 * Never edit a migration that has shipped: add the next one.
 */
export const MIGRATIONS: { name: string; up: (db: Kysely<Database>) => Promise<void> }[] = [
  {
    name: '0001_foundation',
    up: async (db) => {
      await runStatements(
        db,
        `
        CREATE TABLE tenants (
          id text PRIMARY KEY,
          name text NOT NULL,
          created_at timestamptz NOT NULL
        );
        CREATE TABLE api_keys (
          id text PRIMARY KEY,
          tenant_id text NOT NULL REFERENCES tenants(id),
          name text NOT NULL,
          role text NOT NULL CHECK (role IN ('admin', 'member')),
          prefix text NOT NULL,
          hash text NOT NULL UNIQUE,
          created_at timestamptz NOT NULL,
          revoked_at timestamptz
        );
        CREATE TABLE identities (
          id text PRIMARY KEY,
          pipeline_version text NOT NULL,
          source_kind text NOT NULL,
          landmark_count integer NOT NULL,
          face_box jsonb NOT NULL,
          created_at timestamptz NOT NULL
        );
        CREATE TABLE identity_owners (
          tenant_id text NOT NULL REFERENCES tenants(id),
          identity_id text NOT NULL REFERENCES identities(id),
          created_at timestamptz NOT NULL,
          PRIMARY KEY (tenant_id, identity_id)
        );
        CREATE TABLE characters (
          id text PRIMARY KEY,
          tenant_id text NOT NULL REFERENCES tenants(id),
          slug text,
          name text NOT NULL,
          identity_id text NOT NULL REFERENCES identities(id),
          voice jsonb NOT NULL,
          persona jsonb NOT NULL,
          is_cast boolean NOT NULL DEFAULT false,
          created_at timestamptz NOT NULL,
          updated_at timestamptz NOT NULL
        );
        CREATE UNIQUE INDEX characters_tenant_slug ON characters (tenant_id, slug) WHERE slug IS NOT NULL;
        CREATE INDEX characters_tenant_id ON characters (tenant_id, id);
        CREATE TABLE sessions (
          id text PRIMARY KEY,
          tenant_id text NOT NULL REFERENCES tenants(id),
          character_id text NOT NULL,
          user_id text NOT NULL,
          mode text NOT NULL CHECK (mode IN ('realtime', 'on_demand')),
          status text NOT NULL CHECK (status IN ('created', 'active', 'ended', 'expired')),
          end_reason text,
          max_duration_s integer NOT NULL,
          idle_timeout_s integer NOT NULL,
          created_at timestamptz NOT NULL,
          activated_at timestamptz,
          finished_at timestamptz,
          last_activity_at timestamptz NOT NULL,
          transitions jsonb NOT NULL
        );
        CREATE INDEX sessions_tenant_id ON sessions (tenant_id, id);
        CREATE INDEX sessions_live ON sessions (status) WHERE status IN ('created', 'active');
        CREATE TABLE usage_entries (
          id text PRIMARY KEY,
          tenant_id text NOT NULL REFERENCES tenants(id),
          session_id text NOT NULL,
          character_id text NOT NULL,
          user_id text NOT NULL,
          kind text NOT NULL,
          media_seconds double precision NOT NULL CHECK (media_seconds >= 0),
          recorded_at timestamptz NOT NULL
        );
        CREATE INDEX usage_tenant_time ON usage_entries (tenant_id, recorded_at);
      `,
      );
    },
  },
  {
    // Roles: the operator (the key the server was started with or created) alone creates tenants; a tenant's
    // admins manage its keys; members use the API. Earlier versions made the start key a plain admin.
    name: '0002_operator_role',
    up: async (db) => {
      await runStatements(
        db,
        `
        ALTER TABLE api_keys DROP CONSTRAINT api_keys_role_check;
        ALTER TABLE api_keys ADD CONSTRAINT api_keys_role_check CHECK (role IN ('operator', 'admin', 'member'));
        UPDATE api_keys SET role = 'operator'
          WHERE tenant_id = 'ten_default' AND name IN ('bootstrap', 'LIKENESS_API_KEY') AND role = 'admin'
      `,
      );
    },
  },
  {
    // Stage 2: conversation turns (what the user said, what the character actually said aloud) and durable
    // facts per (tenant, character, user); a character may name its own OpenAI-compatible model.
    name: '0003_conversation',
    up: async (db) => {
      await runStatements(
        db,
        `
        CREATE TABLE conversation_turns (
          id text PRIMARY KEY,
          tenant_id text NOT NULL REFERENCES tenants(id),
          character_id text NOT NULL,
          user_id text NOT NULL,
          session_id text NOT NULL,
          user_text text NOT NULL,
          reply_text text NOT NULL,
          interrupted boolean NOT NULL DEFAULT false,
          model text NOT NULL,
          video_file text,
          duration_s double precision,
          metrics jsonb NOT NULL,
          created_at timestamptz NOT NULL
        );
        CREATE INDEX conversation_turns_user ON conversation_turns (tenant_id, character_id, user_id, created_at);
        CREATE INDEX conversation_turns_session ON conversation_turns (session_id, created_at);
        CREATE TABLE memory_facts (
          tenant_id text NOT NULL REFERENCES tenants(id),
          character_id text NOT NULL,
          user_id text NOT NULL,
          key text NOT NULL,
          value text NOT NULL,
          source_turn_id text,
          updated_at timestamptz NOT NULL,
          PRIMARY KEY (tenant_id, character_id, user_id, key)
        );
        ALTER TABLE characters ADD COLUMN llm jsonb;
        ALTER TABLE sessions ADD COLUMN greeting boolean NOT NULL DEFAULT false
      `,
      );
    },
  },
  {
    name: '0004_listening',
    async up(db) {
      // How the user's speech over the character's answer is handled (conversation/listener.ts: BargeIn).
      await runStatements(db, `ALTER TABLE sessions ADD COLUMN barge_in jsonb`);
    },
  },
  {
    name: '0005_integrations',
    async up(db) {
      // Webhooks (Standard Webhooks deliveries, persisted before sending) and stored videos (GET by URL).
      await runStatements(
        db,
        `
        CREATE TABLE webhooks (
          id text PRIMARY KEY,
          tenant_id text NOT NULL REFERENCES tenants(id),
          url text NOT NULL,
          events jsonb NOT NULL,
          secret text NOT NULL,
          description text,
          created_at timestamptz NOT NULL
        );
        CREATE INDEX webhooks_tenant ON webhooks (tenant_id, created_at);
        CREATE TABLE webhook_deliveries (
          id text PRIMARY KEY,
          webhook_id text NOT NULL,
          tenant_id text NOT NULL,
          event text NOT NULL,
          payload text NOT NULL,
          status text NOT NULL,
          attempts jsonb NOT NULL,
          next_attempt_at timestamptz,
          created_at timestamptz NOT NULL,
          finished_at timestamptz
        );
        CREATE INDEX webhook_deliveries_due ON webhook_deliveries (status, next_attempt_at);
        CREATE INDEX webhook_deliveries_hook ON webhook_deliveries (webhook_id, created_at);
        CREATE TABLE videos (
          id text PRIMARY KEY,
          tenant_id text NOT NULL REFERENCES tenants(id),
          session_id text NOT NULL,
          character_id text NOT NULL,
          status text NOT NULL,
          file text,
          bytes bigint,
          duration_s double precision,
          frames integer,
          error jsonb,
          created_at timestamptz NOT NULL,
          finished_at timestamptz
        );
        CREATE INDEX videos_tenant ON videos (tenant_id, created_at);
        CREATE INDEX usage_session ON usage_entries (session_id)
      `,
      );
    },
  },
  {
    name: '0006_plans',
    async up(db) {
      // Monthly media minutes per tenant; null (every tenant that existed before plans) is unlimited.
      await runStatements(db, `ALTER TABLE tenants ADD COLUMN monthly_minutes double precision`);
    },
  },
  {
    name: '0007_session_quality',
    async up(db) {
      // What a live session's media was like (usage API, per session): written when its media closes.
      await runStatements(db, `ALTER TABLE sessions ADD COLUMN quality jsonb`);
    },
  },
];

/** Prepared statements (both drivers use them) take one command each, so a script runs statement by statement. */
async function runStatements(db: Kysely<Database>, script: string): Promise<void> {
  for (const statement of script
    .split(';')
    .map((s) => s.trim())
    .filter(Boolean)) {
    await sql.raw(statement).execute(db);
  }
}

export async function migrate(db: Kysely<Database>): Promise<string[]> {
  await sql`CREATE TABLE IF NOT EXISTS likeness_migrations (
    name text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())`.execute(db);
  const done = new Set(
    (await db.selectFrom('likeness_migrations').select('name').execute()).map((r) => r.name),
  );
  const applied: string[] = [];
  for (const migration of MIGRATIONS) {
    if (done.has(migration.name)) continue;
    await db.transaction().execute(async (trx) => {
      await migration.up(trx);
      await trx.insertInto('likeness_migrations').values({ name: migration.name }).execute();
    });
    applied.push(migration.name);
  }
  return applied;
}
