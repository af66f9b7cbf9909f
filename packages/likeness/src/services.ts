import type { Logger } from 'pino';
import type { AdmissionQueue } from './admission.ts';
import type { CharacterService } from './characters/character-service.ts';
import type { Config } from './config.ts';
import type { ModelRegistry } from './conversation/llm/registry.ts';
import type { MemoryStore } from './conversation/memory/memory-store.ts';
import type { SpeechToText } from './conversation/stt/index.ts';
import type { LoadMonitor } from './load-monitor.ts';
import type { VideoJobs } from './media/video-jobs.ts';
import type { ServerMetrics } from './metrics/server-metrics.ts';
import type { Registrar } from './registration/registrar.ts';
import type { RenderPool } from './render/render-pool.ts';
import type { RenderService } from './render/render-service.ts';
import type { ConversationService } from './sessions/conversation-service.ts';
import type { LiveSessions } from './sessions/live-sessions.ts';
import type { SessionService } from './sessions/session-service.ts';
import type { SpeechService } from './speech/speech-service.ts';
import type { Store } from './store/db.ts';
import type { SessionTokens } from './tenancy/session-token.ts';
import type { TenancyService } from './tenancy/tenancy-service.ts';
import type { QuotaService } from './usage/quota.ts';
import type { UsageLedger } from './usage/usage-ledger.ts';
import type { WebhookService } from './webhooks/webhook-service.ts';

/** Everything a request handler may use. Built once in server.ts; handlers never construct services. */
export interface Services {
  config: Config;
  logger: Logger;
  store: Store;
  registrar: Registrar;
  characters: CharacterService;
  sessions: SessionService;
  usage: UsageLedger;
  /** Monthly media minutes per tenant (plans). */
  quota: QuotaService;
  tenancy: TenancyService;
  speech: SpeechService;
  renders: RenderService;
  /** Realtime sessions: policy over the media host. */
  live: LiveSessions;
  /** Messages in sessions: the conversation stage, per session. */
  conversations: ConversationService;
  /** The speech recogniser (listening), when one is installed or configured. */
  stt: SpeechToText | undefined;
  memory: MemoryStore;
  models: ModelRegistry;
  /** Webhook endpoints and their signed, persisted, retried deliveries. */
  webhooks: WebhookService;
  /** Stored videos: rendered in the background, fetched by URL. */
  videos: VideoJobs;
  tokens: SessionTokens;
  /** Low-priority render threads for MP4s. */
  batchRenders: RenderPool;
  /** Prometheus metrics (GET /metrics, operator key). */
  metrics: ServerMetrics;
  /** Event-loop lag of this process. */
  load: LoadMonitor;
  /** Admission control for heavy work (429 server-busy beyond it). */
  admission: { renders: AdmissionQueue; registrations: AdmissionQueue };
  /** Aborted when the server starts shutting down: long-lived responses (event streams) end on it. */
  stopping: AbortSignal;
  beginShutdown(): void;
  /** Stops background workers (the speech engine processes). */
  shutdown(): Promise<void>;
}
