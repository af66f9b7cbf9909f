import { sql } from 'kysely';
import type { FuzzWorld } from './fuzz.ts';
import { routesFromSpec } from './fuzz.ts';
import { ADMIN_KEY, listFiles, type TestServer } from './test-server.ts';

const TABLES = [
  'tenants',
  'api_keys',
  'identities',
  'identity_owners',
  'characters',
  'sessions',
  'usage_entries',
  'conversation_turns',
  'memory_facts',
  'videos',
  'webhooks',
  'webhook_deliveries',
];

/** Rows per table and files in the data directory: a refused request must change neither. */
export async function snapshot(t: TestServer): Promise<string> {
  const db = t.server.services.store.db;
  // A video accepted (202) by an earlier case records its usage when it finishes: not this case's doing.
  await t.server.services.videos.idle();
  const counts: string[] = [];
  for (const table of TABLES) {
    const r = await sql<{ n: string }>`SELECT count(*) AS n FROM ${sql.table(table)}`.execute(db);
    counts.push(`${table}=${r.rows[0]!.n}`);
  }
  const files = (await listFiles(t.dataDir)).filter((f) => !f.startsWith('secrets/'));
  return `${counts.join(' ')} | ${files.join(',')}`;
}

/** A tenant with characters, sessions of both modes and keys of each role, plus a second tenant. */
export async function buildWorld(t: TestServer): Promise<FuzzWorld> {
  const spec = await (await fetch(`${t.server.url}/openapi.json`)).json();
  const cast = (await t.client.listCharacters()).data;
  const walter = cast.find((c) => c.slug === 'walter')!;
  const card = cast.find((c) => c.slug === 'test-card')!;
  const member = await t.client.createKey({ body: { name: 'fuzz member', role: 'member' } });
  const admin = await t.client.createKey({ body: { name: 'fuzz admin', role: 'admin' } });
  const other = await t.client.createTenant({ body: { name: 'fuzz other' } });
  const otherClient = t.clientFor(other.api_key.key);
  const otherSession = await otherClient.createSession({
    body: { character_id: (await otherClient.listCharacters()).data[0]!.id, user_id: 'o', mode: 'on_demand' },
  });
  const realtime = await t.client.createSession({
    body: { character_id: card.id, user_id: 'fuzz', mode: 'realtime', max_duration_s: 14_400 },
  });
  const onDemand = await t.client.createSession({
    body: { character_id: walter.id, user_id: 'fuzz', mode: 'on_demand', max_duration_s: 14_400 },
  });
  const token = await t.client.createSessionToken({ path: { id: realtime.id } });
  return {
    baseUrl: t.server.url,
    credentials: {
      operator: ADMIN_KEY,
      admin: admin.key,
      member: member.key,
      other: other.api_key.key,
      sessionToken: token.token,
    },
    ids: [walter.id, card.id, realtime.id, onDemand.id, otherSession.id, member.id, 'whep_nope'],
    routes: routesFromSpec(spec),
  };
}
