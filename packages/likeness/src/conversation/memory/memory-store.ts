import type { Kysely, Selectable } from 'kysely';
import { newId } from '../../ids.ts';
import type { ConversationTurnsTable, Database } from '../../store/schema.ts';
import { extractFacts, type Fact } from './facts.ts';

/** Whose memory: one user of one character of one tenant. Nothing crosses these lines. */
export interface MemoryScope {
  tenantId: string;
  characterId: string;
  userId: string;
}

export interface Turn {
  id: string;
  session_id: string;
  user_text: string;
  reply_text: string;
  interrupted: boolean;
  model: string;
  video_file: string | null;
  duration_s: number | null;
  metrics: Record<string, number>;
  created_at: string;
}

/** A turn not recorded yet (a reply being spoken): as the prompt and the 202 answer show it. */
export function unrecordedTurn(t: {
  id?: string;
  sessionId: string;
  userText: string;
  replyText: string;
}): Turn {
  return {
    id: t.id ?? '',
    session_id: t.sessionId,
    user_text: t.userText,
    reply_text: t.replyText,
    interrupted: false,
    model: '',
    video_file: null,
    duration_s: null,
    metrics: {},
    created_at: new Date().toISOString(),
  };
}

export interface StoredFact extends Fact {
  updated_at: string;
}

type TurnRow = Selectable<ConversationTurnsTable>;

function turnView(row: TurnRow): Turn {
  return {
    id: row.id,
    session_id: row.session_id,
    user_text: row.user_text,
    reply_text: row.reply_text,
    interrupted: row.interrupted,
    model: row.model,
    video_file: row.video_file,
    duration_s: row.duration_s === null ? null : Number(row.duration_s),
    metrics: row.metrics ?? {},
    created_at: row.created_at.toISOString(),
  };
}

/**
 * Memory per (tenant, character, user): the turns of every conversation, and durable facts the user told.
 * A turn is written once, when the reply is over, with what was actually said: an interrupted reply is kept
 * only up to where it stopped, and a failed one leaves nothing.
 */
export class MemoryStore {
  constructor(private readonly db: Kysely<Database>) {}

  /** Records a finished turn and the facts in what the user said, in one transaction. */
  async recordTurn(
    scope: MemoryScope,
    turn: Omit<Turn, 'id' | 'created_at'> & { id?: string },
  ): Promise<Turn> {
    const row = {
      id: turn.id ?? newId('msg'),
      tenant_id: scope.tenantId,
      character_id: scope.characterId,
      user_id: scope.userId,
      session_id: turn.session_id,
      user_text: turn.user_text,
      reply_text: turn.reply_text,
      interrupted: turn.interrupted,
      model: turn.model,
      video_file: turn.video_file,
      duration_s: turn.duration_s,
      metrics: JSON.stringify(turn.metrics),
      created_at: new Date(),
    };
    const facts = extractFacts(turn.user_text);
    await this.db.transaction().execute(async (trx) => {
      await trx.insertInto('conversation_turns').values(row).execute();
      for (const f of facts) {
        await trx
          .insertInto('memory_facts')
          .values({
            tenant_id: scope.tenantId,
            character_id: scope.characterId,
            user_id: scope.userId,
            key: f.key,
            value: f.value,
            source_turn_id: row.id,
            updated_at: row.created_at,
          })
          .onConflict((oc) =>
            oc
              .columns(['tenant_id', 'character_id', 'user_id', 'key'])
              .doUpdateSet({ value: f.value, source_turn_id: row.id, updated_at: row.created_at }),
          )
          .execute();
      }
    });
    return turnView({ ...row, metrics: turn.metrics });
  }

  async facts(scope: MemoryScope): Promise<StoredFact[]> {
    const rows = await this.db
      .selectFrom('memory_facts')
      .select(['key', 'value', 'updated_at'])
      .where('tenant_id', '=', scope.tenantId)
      .where('character_id', '=', scope.characterId)
      .where('user_id', '=', scope.userId)
      .orderBy('updated_at')
      .orderBy('key')
      .execute();
    return rows.map((r) => ({ key: r.key, value: r.value, updated_at: r.updated_at.toISOString() }));
  }

  /** The user's most recent turns with this character, across sessions, oldest first. */
  async recentTurns(scope: MemoryScope, limit: number): Promise<Turn[]> {
    const rows = await this.db
      .selectFrom('conversation_turns')
      .selectAll()
      .where('tenant_id', '=', scope.tenantId)
      .where('character_id', '=', scope.characterId)
      .where('user_id', '=', scope.userId)
      .orderBy('created_at', 'desc')
      .orderBy('id', 'desc')
      .limit(limit)
      .execute();
    return rows.reverse().map((r) => turnView(r));
  }

  /** A session's turns, oldest first. */
  async sessionTurns(tenantId: string, sessionId: string): Promise<Turn[]> {
    const rows = await this.db
      .selectFrom('conversation_turns')
      .selectAll()
      .where('tenant_id', '=', tenantId)
      .where('session_id', '=', sessionId)
      .orderBy('created_at')
      .orderBy('id')
      .execute();
    return rows.map((r) => turnView(r));
  }

  async turn(tenantId: string, sessionId: string, id: string): Promise<Turn | undefined> {
    const row = await this.db
      .selectFrom('conversation_turns')
      .selectAll()
      .where('tenant_id', '=', tenantId)
      .where('session_id', '=', sessionId)
      .where('id', '=', id)
      .executeTakeFirst();
    return row ? turnView(row) : undefined;
  }

  /** Erases what the character remembers of a user. Returns the video files of the erased turns. */
  async erase(scope: MemoryScope): Promise<string[]> {
    return this.db.transaction().execute(async (trx) => {
      const turns = await trx
        .deleteFrom('conversation_turns')
        .where('tenant_id', '=', scope.tenantId)
        .where('character_id', '=', scope.characterId)
        .where('user_id', '=', scope.userId)
        .returning('video_file')
        .execute();
      await trx
        .deleteFrom('memory_facts')
        .where('tenant_id', '=', scope.tenantId)
        .where('character_id', '=', scope.characterId)
        .where('user_id', '=', scope.userId)
        .execute();
      return turns.map((t) => t.video_file).filter((f): f is string => !!f);
    });
  }
}
