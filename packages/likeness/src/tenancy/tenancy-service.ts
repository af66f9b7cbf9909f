import { createHash, randomBytes } from 'node:crypto';
import type { Kysely } from 'kysely';
import { Problem } from '../errors.ts';
import { newId } from '../ids.ts';
import type { Database, KeyRole } from '../store/schema.ts';

export interface AuthContext {
  tenantId: string;
  keyId: string;
  role: KeyRole;
}

/** Who may do what (README "Keys and roles"). */
export const can = {
  createTenants: (role: KeyRole) => role === 'operator',
  manageKeys: (role: KeyRole) => role === 'operator' || role === 'admin',
  // A webhook receives every event of the tenant, and its secret is shown: as sensitive as a key.
  manageWebhooks: (role: KeyRole) => role === 'operator' || role === 'admin',
  grant: (role: KeyRole, granted: KeyRole) =>
    granted === 'operator' ? role === 'operator' : role === 'operator' || role === 'admin',
};

export const DEFAULT_TENANT_ID = 'ten_default';

const hashKey = (key: string) => createHash('sha256').update(key).digest('hex');

/** Tenants and their API keys. Keys are random 256-bit secrets stored only as SHA-256 hashes. */
export class TenancyService {
  constructor(private readonly db: Kysely<Database>) {}

  async authenticate(key: string): Promise<AuthContext | null> {
    const row = await this.db
      .selectFrom('api_keys')
      .select(['id', 'tenant_id', 'role'])
      .where('hash', '=', hashKey(key))
      .where('revoked_at', 'is', null)
      .executeTakeFirst();
    return row ? { tenantId: row.tenant_id, keyId: row.id, role: row.role } : null;
  }

  async ensureDefaultTenant(): Promise<void> {
    await this.db
      .insertInto('tenants')
      .values({ id: DEFAULT_TENANT_ID, name: 'default', created_at: new Date() })
      .onConflict((oc) => oc.doNothing())
      .execute();
  }

  /**
   * At start: LIKENESS_API_KEY is the operator key (of the default tenant), whatever was stored for it before;
   * when no key exists at all, create an operator key and return it so the caller can print it once.
   */
  async bootstrapKeys(envKey: string | undefined): Promise<{ createdKey?: string }> {
    await this.ensureDefaultTenant();
    if (envKey) {
      await this.db
        .insertInto('api_keys')
        .values({
          id: newId('key'),
          tenant_id: DEFAULT_TENANT_ID,
          name: 'LIKENESS_API_KEY',
          role: 'operator',
          prefix: envKey.slice(0, 8),
          hash: hashKey(envKey),
          created_at: new Date(),
          revoked_at: null,
        })
        .onConflict((oc) =>
          oc.column('hash').doUpdateSet({ role: 'operator', tenant_id: DEFAULT_TENANT_ID, revoked_at: null }),
        )
        .execute();
    }
    const any = await this.db
      .selectFrom('api_keys')
      .select('id')
      .where('revoked_at', 'is', null)
      .limit(1)
      .executeTakeFirst();
    if (any) return {};
    const created = await this.createKey(DEFAULT_TENANT_ID, { name: 'bootstrap', role: 'operator' });
    return { createdKey: created.key };
  }

  /** `monthlyMinutes`: the plan (null: unlimited). */
  async createTenant(name: string, monthlyMinutes: number | null) {
    const tenant = { id: newId('ten'), name, created_at: new Date(), monthly_minutes: monthlyMinutes };
    await this.db.insertInto('tenants').values(tenant).execute();
    return tenant;
  }

  async setPlan(tenantId: string, monthlyMinutes: number | null) {
    const row = await this.db
      .updateTable('tenants')
      .set({ monthly_minutes: monthlyMinutes })
      .where('id', '=', tenantId)
      .returningAll()
      .executeTakeFirst();
    if (!row) throw new Problem('not-found', `No tenant with id ${tenantId}.`);
    return row;
  }

  async listTenantIds(): Promise<string[]> {
    return (await this.db.selectFrom('tenants').select('id').execute()).map((r) => r.id);
  }

  async createKey(tenantId: string, opts: { name: string; role: KeyRole }) {
    const key = `lk_${randomBytes(32).toString('base64url')}`;
    const row = {
      id: newId('key'),
      tenant_id: tenantId,
      name: opts.name,
      role: opts.role,
      prefix: key.slice(0, 8),
      hash: hashKey(key),
      created_at: new Date(),
      revoked_at: null,
    };
    await this.db.insertInto('api_keys').values(row).execute();
    return { ...publicKey(row), key };
  }

  async listKeys(tenantId: string) {
    const rows = await this.db
      .selectFrom('api_keys')
      .selectAll()
      .where('tenant_id', '=', tenantId)
      .orderBy('id')
      .execute();
    return rows.map(publicKey);
  }

  async revokeKey(tenantId: string, id: string): Promise<void> {
    const result = await this.db
      .updateTable('api_keys')
      .set({ revoked_at: new Date() })
      .where('tenant_id', '=', tenantId)
      .where('id', '=', id)
      .where('revoked_at', 'is', null)
      .returning('id')
      .execute();
    if (result.length === 0) throw new Problem('not-found', `No active key with id ${id}.`);
  }
}

function publicKey(row: {
  id: string;
  name: string;
  role: string;
  prefix: string;
  created_at: Date;
  revoked_at: Date | null;
}) {
  return {
    id: row.id,
    name: row.name,
    role: row.role as KeyRole,
    prefix: row.prefix,
    created_at: row.created_at.toISOString(),
    revoked_at: row.revoked_at ? row.revoked_at.toISOString() : null,
  };
}
