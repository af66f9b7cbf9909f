import type { ColumnType, Generated } from 'kysely';

/** Table types shared by the PGlite and Postgres backends: one schema, one set of queries. */
type Timestamp = ColumnType<Date, Date | string, Date | string>;
type NullableTimestamp = ColumnType<Date | null, Date | string | null, Date | string | null>;
type Json<T> = ColumnType<T, string, string>;

/** operator: runs the server, creates tenants. admin: manages its tenant's keys. member: uses the API. */
export type KeyRole = 'operator' | 'admin' | 'member';

export interface TenantsTable {
  id: string;
  name: string;
  created_at: Timestamp;
  /** The plan: media minutes a calendar month (UTC); null: unlimited. */
  monthly_minutes: ColumnType<number | null, number | null | undefined, number | null>;
}

export interface ApiKeysTable {
  id: string;
  tenant_id: string;
  name: string;
  role: KeyRole;
  prefix: string;
  hash: string;
  created_at: Timestamp;
  revoked_at: NullableTimestamp;
}

export interface IdentitiesTable {
  id: string;
  pipeline_version: string;
  source_kind: 'image' | 'video';
  landmark_count: number;
  face_box: Json<{ x: number; y: number; width: number; height: number }>;
  created_at: Timestamp;
}

export interface IdentityOwnersTable {
  tenant_id: string;
  identity_id: string;
  created_at: Timestamp;
}

export interface CharactersTable {
  id: string;
  tenant_id: string;
  slug: string | null;
  name: string;
  identity_id: string;
  voice: Json<unknown>;
  persona: Json<unknown>;
  is_cast: boolean;
  /** An OpenAI-compatible model for this character: {base_url, model, api_key?}; null: the server's. */
  llm: ColumnType<unknown | null, string | null | undefined, string | null>;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export interface ConversationTurnsTable {
  id: string;
  tenant_id: string;
  character_id: string;
  user_id: string;
  session_id: string;
  user_text: string;
  /** What the character said aloud: cut where an interruption stopped it. */
  reply_text: string;
  interrupted: boolean;
  model: string;
  /** On-demand replies: the MP4, relative to the data directory. */
  video_file: string | null;
  duration_s: number | null;
  metrics: Json<Record<string, number>>;
  created_at: Timestamp;
}

export interface MemoryFactsTable {
  tenant_id: string;
  character_id: string;
  user_id: string;
  key: string;
  value: string;
  source_turn_id: string | null;
  updated_at: Timestamp;
}

export interface SessionTransition {
  status: string;
  at: string;
  reason?: string;
}

export interface SessionsTable {
  id: string;
  tenant_id: string;
  character_id: string;
  user_id: string;
  mode: 'realtime' | 'on_demand';
  status: 'created' | 'active' | 'ended' | 'expired';
  end_reason: string | null;
  max_duration_s: number;
  idle_timeout_s: number;
  created_at: Timestamp;
  activated_at: NullableTimestamp;
  finished_at: NullableTimestamp;
  last_activity_at: Timestamp;
  transitions: Json<SessionTransition[]>;
  /** Realtime: the character says its persona's greeting when the first viewer connects. */
  greeting: ColumnType<boolean, boolean | undefined, boolean>;
  /** Realtime: the media's quality, written when the session's media closes (SessionQuality). */
  quality: ColumnType<SessionQuality | null, string | null | undefined, string | null>;
  /** Realtime: what the user's speech over the answer does; null: the default (after 400 ms of speech). */
  barge_in: ColumnType<BargeInSetting | null, BargeInSetting | null | undefined, BargeInSetting | null>;
}

/** A live session's media quality, as the server sent it. */
export interface SessionQuality {
  /** From the first viewer's arrival to the first video frame sent to it. */
  first_frame_ms: number | null;
  /** Audio minus video at the sender: 0 by construction (each frame is drawn for the audio it goes out with). */
  av_offset_ms: number;
  frames_sent: number;
  frames_dropped: number;
  late_frames: number;
  audio_underruns: number;
}

/** Stored as given: { mode: 'off' | 'immediate' } or { mode: 'after', after_ms }. */
export interface BargeInSetting {
  mode: 'off' | 'immediate' | 'after';
  after_ms?: number;
}

export interface UsageEntriesTable {
  id: string;
  tenant_id: string;
  session_id: string;
  character_id: string;
  user_id: string;
  kind: string;
  media_seconds: number;
  recorded_at: Timestamp;
}

export type WebhookEventType =
  | 'session.started'
  | 'session.ended'
  | 'video.ready'
  | 'video.failed'
  | 'usage.threshold';

export interface WebhooksTable {
  id: string;
  tenant_id: string;
  url: string;
  events: Json<WebhookEventType[]>;
  /** "whsec_" + base64: kept in full, since every delivery is signed with it. */
  secret: string;
  description: string | null;
  created_at: Timestamp;
}

export interface WebhookAttempt {
  at: string;
  /** HTTP status, absent when no response came (refused, timed out). */
  status?: number;
  error?: string;
  ms: number;
}

export interface WebhookDeliveriesTable {
  /** Also the `webhook-id` header: the same on every attempt, for the receiver to dedupe. */
  id: string;
  webhook_id: string;
  tenant_id: string;
  event: string;
  /** The exact body sent (and signed). */
  payload: string;
  status: 'pending' | 'delivered' | 'failed' | 'cancelled';
  attempts: Json<WebhookAttempt[]>;
  next_attempt_at: NullableTimestamp;
  created_at: Timestamp;
  finished_at: NullableTimestamp;
}

export interface VideosTable {
  id: string;
  tenant_id: string;
  session_id: string;
  character_id: string;
  status: 'rendering' | 'ready' | 'failed';
  /** Relative to the data directory; set once the MP4 is complete and in place. */
  file: string | null;
  bytes: number | null;
  duration_s: number | null;
  frames: number | null;
  error: Json<{ type: string; detail: string } | null>;
  created_at: Timestamp;
  finished_at: NullableTimestamp;
}

export interface MigrationsTable {
  name: string;
  applied_at: Generated<Timestamp>;
}

export interface Database {
  tenants: TenantsTable;
  api_keys: ApiKeysTable;
  identities: IdentitiesTable;
  identity_owners: IdentityOwnersTable;
  characters: CharactersTable;
  sessions: SessionsTable;
  usage_entries: UsageEntriesTable;
  conversation_turns: ConversationTurnsTable;
  memory_facts: MemoryFactsTable;
  webhooks: WebhooksTable;
  webhook_deliveries: WebhookDeliveriesTable;
  videos: VideosTable;
  likeness_migrations: MigrationsTable;
}
