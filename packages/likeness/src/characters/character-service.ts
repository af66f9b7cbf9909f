import fs from 'node:fs/promises';
import type { Kysely } from 'kysely';
import type { ConversationCharacter } from '../conversation/agent.ts';
import type { CharacterModel } from '../conversation/llm/registry.ts';
import { Problem } from '../errors.ts';
import { newId } from '../ids.ts';
import { DEFAULT_PERSONA, type Persona } from '../persona/persona.ts';
import { PIPELINE_VERSION } from '../registration/identity.ts';
import type { IdentitySummary, Registrar, RegistrationInput } from '../registration/registrar.ts';
import { DEFAULT_VOICE, type VoiceRef } from '../speech/voice-catalog.ts';
import { pageOf } from '../store/page.ts';
import type { Database } from '../store/schema.ts';
import { DEFAULT_CAST } from './cast.ts';

function modelView(llm: CharacterModel | null): CharacterModelView | null {
  return llm ? { base_url: llm.base_url, model: llm.model, has_api_key: !!llm.api_key } : null;
}

/** A character's own OpenAI-compatible model, as the API shows it: never the key itself. */
export interface CharacterModelView {
  base_url: string;
  model: string;
  has_api_key: boolean;
}

export interface Character {
  id: string;
  slug: string | null;
  name: string;
  voice: VoiceRef;
  persona: Persona;
  llm: CharacterModelView | null;
  is_cast: boolean;
  identity: IdentitySummary;
  created_at: string;
  updated_at: string;
}

function characterQuery(db: Kysely<Database>) {
  return db
    .selectFrom('characters')
    .innerJoin('identities', 'identities.id', 'characters.identity_id')
    .select([
      'characters.id',
      'characters.tenant_id',
      'characters.slug',
      'characters.name',
      'characters.voice',
      'characters.persona',
      'characters.is_cast',
      'characters.llm',
      'characters.created_at',
      'characters.updated_at',
      'identities.id as identity_id',
      'identities.landmark_count',
      'identities.face_box',
    ]);
}

type Row = Awaited<ReturnType<ReturnType<typeof characterQuery>['execute']>>[number];

export class CharacterService {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly registrar: Registrar,
  ) {}

  private toCharacter(row: Row, cached = true): Character {
    return {
      id: row.id,
      slug: row.slug,
      name: row.name,
      voice: row.voice as VoiceRef,
      persona: row.persona as Persona,
      llm: modelView(row.llm as CharacterModel | null),
      is_cast: row.is_cast,
      identity: { id: row.identity_id, cached, landmark_count: row.landmark_count, face_box: row.face_box },
      created_at: row.created_at.toISOString(),
      updated_at: row.updated_at.toISOString(),
    };
  }

  /** Registers the portrait (or clip) first: a bad upload fails before any row is written. */
  async create(
    tenantId: string,
    input: {
      name: string;
      upload: RegistrationInput;
      voice?: VoiceRef | undefined;
      persona?: Partial<Persona> | undefined;
      llm?: CharacterModel | null | undefined;
    },
  ): Promise<Character> {
    const identity = await this.registrar.register(tenantId, input.upload);
    const character = await this.insert(tenantId, {
      name: input.name,
      identityId: identity.id,
      voice: input.voice ?? DEFAULT_VOICE,
      persona: { ...DEFAULT_PERSONA, ...input.persona },
      slug: null,
      isCast: false,
      llm: input.llm ?? null,
    });
    return { ...character, identity };
  }

  private async insert(
    tenantId: string,
    c: {
      name: string;
      identityId: string;
      voice: VoiceRef;
      persona: Persona;
      slug: string | null;
      isCast: boolean;
      llm?: CharacterModel | null;
    },
  ): Promise<Character> {
    const now = new Date();
    const id = newId('chr');
    await this.db
      .insertInto('characters')
      .values({
        id,
        tenant_id: tenantId,
        slug: c.slug,
        name: c.name,
        identity_id: c.identityId,
        voice: JSON.stringify(c.voice),
        persona: JSON.stringify(c.persona),
        is_cast: c.isCast,
        llm: c.llm ? JSON.stringify(c.llm) : null,
        created_at: now,
        updated_at: now,
      })
      .execute();
    return this.get(tenantId, id);
  }

  async get(tenantId: string, id: string): Promise<Character> {
    const row = await characterQuery(this.db)
      .where('characters.tenant_id', '=', tenantId)
      .where('characters.id', '=', id)
      .executeTakeFirst();
    if (!row) throw new Problem('not-found', `No character with id ${id}.`);
    return this.toCharacter(row);
  }

  async list(tenantId: string, opts: { limit: number; cursor?: string | undefined }) {
    let q = characterQuery(this.db)
      .where('characters.tenant_id', '=', tenantId)
      .orderBy('characters.id')
      .limit(opts.limit + 1);
    if (opts.cursor) q = q.where('characters.id', '>', opts.cursor);
    const rows = await q.execute();
    const page = pageOf(rows, opts.limit);
    return { data: page.data.map((r) => this.toCharacter(r)), next_cursor: page.next_cursor };
  }

  async update(
    tenantId: string,
    id: string,
    patch: {
      name?: string | undefined;
      voice?: VoiceRef | undefined;
      persona?: Partial<Persona> | undefined;
      /** null removes the character's own model (it then uses the server's). */
      llm?: CharacterModel | null | undefined;
    },
  ) {
    const current = await this.get(tenantId, id);
    await this.db
      .updateTable('characters')
      .set({
        ...(patch.name !== undefined ? { name: patch.name } : {}),
        ...(patch.voice ? { voice: JSON.stringify(patch.voice) } : {}),
        ...(patch.persona ? { persona: JSON.stringify({ ...current.persona, ...patch.persona }) } : {}),
        ...(patch.llm !== undefined ? { llm: patch.llm ? JSON.stringify(patch.llm) : null } : {}),
        updated_at: new Date(),
      })
      .where('tenant_id', '=', tenantId)
      .where('id', '=', id)
      .execute();
    return this.get(tenantId, id);
  }

  /** What the conversation stage needs: the persona and the model, with its key. */
  async forConversation(tenantId: string, id: string): Promise<ConversationCharacter & { voice: VoiceRef }> {
    const row = await this.db
      .selectFrom('characters')
      .select(['id', 'name', 'persona', 'voice', 'llm'])
      .where('tenant_id', '=', tenantId)
      .where('id', '=', id)
      .executeTakeFirst();
    if (!row) throw new Problem('not-found', `No character with id ${id}.`);
    return {
      id: row.id,
      name: row.name,
      persona: row.persona as Persona,
      voice: row.voice as VoiceRef,
      llm: (row.llm as CharacterModel | null) ?? null,
    };
  }

  /** Deletes the character and everything it remembers of its users (their videos go at the next sweep). */
  async delete(tenantId: string, id: string): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      // RETURNING, not numDeletedRows: the PGlite dialect reports no affected-row counts.
      const deleted = await trx
        .deleteFrom('characters')
        .where('tenant_id', '=', tenantId)
        .where('id', '=', id)
        .returning('id')
        .execute();
      if (deleted.length === 0) throw new Problem('not-found', `No character with id ${id}.`);
      await trx
        .deleteFrom('conversation_turns')
        .where('tenant_id', '=', tenantId)
        .where('character_id', '=', id)
        .execute();
      await trx
        .deleteFrom('memory_facts')
        .where('tenant_id', '=', tenantId)
        .where('character_id', '=', id)
        .execute();
    });
  }

  async portraitPng(tenantId: string, id: string): Promise<Buffer> {
    const character = await this.get(tenantId, id);
    return fs.readFile(this.registrar.files.resolve(this.registrar.portraitFile(character.identity.id)));
  }

  /** Gives a tenant any default-cast member it lacks. Cast identities are computed once and shared. */
  async seedCast(tenantId: string): Promise<void> {
    const rows = await this.db
      .selectFrom('characters')
      .innerJoin('identities', 'identities.id', 'characters.identity_id')
      .select(['characters.id as id', 'characters.slug as slug', 'characters.voice as voice'])
      .select('identities.pipeline_version as pipeline_version')
      .where('characters.tenant_id', '=', tenantId)
      .where('characters.is_cast', '=', true)
      .execute();
    const present = new Set(rows.map((r) => r.slug));
    for (const member of DEFAULT_CAST) {
      const row = rows.find((r) => r.slug === member.slug);
      const voice = row?.voice as VoiceRef | undefined;
      const legacy = member.legacyVoice;
      if (row && legacy && voice?.provider === legacy.provider && voice.id === legacy.id) {
        // A cast member still on its pre-neural voice gets its new one (a voice someone chose is left alone).
        await this.db
          .updateTable('characters')
          .set({ voice: JSON.stringify(member.voice) })
          .where('id', '=', row.id)
          .execute();
      }
      if (row && row.pipeline_version !== PIPELINE_VERSION) {
        // Registration improved since this cast member was registered (a new pipeline version): the cast
        // moves to the identity the current pipeline makes from the same portrait. Users' own characters
        // keep theirs (re-registering the same portrait gives them the new one).
        const bytes = await fs.readFile(member.portraitFile);
        const identity = await this.registrar.registerShared(
          tenantId,
          { kind: 'image', bytes },
          { trusted: true },
        );
        await this.db
          .updateTable('characters')
          .set({ identity_id: identity.id })
          .where('id', '=', row.id)
          .execute();
      }
      if (present.has(member.slug)) continue;
      const bytes = await fs.readFile(member.portraitFile);
      const identity = await this.registrar.registerShared(
        tenantId,
        { kind: 'image', bytes },
        { trusted: true },
      );
      await this.insert(tenantId, {
        name: member.name,
        identityId: identity.id,
        voice: member.voice,
        persona: member.persona,
        slug: member.slug,
        isCast: true,
      });
    }
  }
}
