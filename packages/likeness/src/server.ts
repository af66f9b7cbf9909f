import { spawnSync } from 'node:child_process';
import fsSync from 'node:fs';
import fs from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import { serve } from '@hono/node-server';
import type { Logger } from 'pino';
import { AdmissionQueue } from './admission.ts';
import { createApp } from './api/app.ts';
import { CharacterService } from './characters/character-service.ts';
import { type Config, NEURAL_MIN_CORES } from './config.ts';
import { ConversationAgent } from './conversation/agent.ts';
import { EmbeddedModel } from './conversation/llm/embedded.ts';
import { ModelRegistry } from './conversation/llm/registry.ts';
import { MemoryStore } from './conversation/memory/memory-store.ts';
import { EmbeddedRecognizer, embeddedRecognizerMissing } from './conversation/stt/embedded.ts';
import type { SpeechToText } from './conversation/stt/index.ts';
import { OpenAiCompatibleRecognizer } from './conversation/stt/openai-compatible.ts';
import { warmVad } from './conversation/vad/silero.ts';
import { LoadMonitor } from './load-monitor.ts';
import { createLogger } from './log-context.ts';
import { VideoJobs } from './media/video-jobs.ts';
import { ServerMetrics } from './metrics/server-metrics.ts';
import { LocalMediaHost } from './realtime/media-host.ts';
import { FaceDetector } from './registration/face-detector.ts';
import { Registrar } from './registration/registrar.ts';
import { RenderPool } from './render/render-pool.ts';
import { RenderService } from './render/render-service.ts';
import type { Services } from './services.ts';
import { ConversationService } from './sessions/conversation-service.ts';
import { LiveSessions } from './sessions/live-sessions.ts';
import { SessionService } from './sessions/session-service.ts';
import type { EnginePoolEvent } from './speech/engine-pool.ts';
import { FliteEngine } from './speech/flite-engine.ts';
import { KokoroEngine, kokoroFiles } from './speech/kokoro/kokoro-engine.ts';
import { OpenAiSpeechEngine } from './speech/openai-speech.ts';
import { PiperEngine, piperFiles } from './speech/piper/piper-engine.ts';
import { SpeechService } from './speech/speech-service.ts';
import { openStore } from './store/db.ts';
import { FileStore } from './store/files.ts';
import { sweepDataDir } from './store/sweep.ts';
import { SessionTokens } from './tenancy/session-token.ts';
import { TenancyService } from './tenancy/tenancy-service.ts';
import { QuotaService } from './usage/quota.ts';
import { UsageLedger } from './usage/usage-ledger.ts';
import { connectEventSources } from './webhooks/event-sources.ts';
import { WebhookService } from './webhooks/webhook-service.ts';

export interface RunningServer {
  url: string;
  port: number;
  services: Services;
  /** Set when this start created the first API key: print it once. */
  bootstrapKey: string | undefined;
  close(): Promise<void>;
}

/** One detector, so one face process, for every server this process starts (tests start many). */
let sharedDetector: FaceDetector | undefined;

export async function buildServices(
  config: Config,
  logger: Logger = createLogger(config.logLevel),
): Promise<Services> {
  await fs.mkdir(config.dataDir, { recursive: true });
  const store = await openStore({ dataDir: config.dataDir, databaseUrl: config.databaseUrl });
  const files = new FileStore(config.dataDir);
  sharedDetector ??= new FaceDetector();
  const registrar = new Registrar({ db: store.db, files, detector: sharedDetector, limits: config.limits });
  const quota = new QuotaService(store.db);
  const sessions = new SessionService(store.db, config, quota);
  const flite = new FliteEngine({
    processes: config.capacity.speechProcesses,
    onEvent: logEngineEvents(logger, 'speech engine'),
  });
  const openai = config.speech.openaiUrl
    ? new OpenAiSpeechEngine({
        baseUrl: config.speech.openaiUrl,
        apiKey: config.speech.openaiKey,
        model: config.speech.openaiModel,
      })
    : undefined;
  const neuralMissing = neuralVoiceMissing(config);
  const kokoro = neuralMissing
    ? undefined
    : new KokoroEngine({
        modelDir: config.speech.modelDir,
        threads: config.speech.neuralThreads,
        espeak: config.speech.espeak,
        onEvent: logEngineEvents(logger, 'neural voice'),
      });
  // The opt-in Piper voice runs wherever it was installed: one core keeps it far ahead of live video.
  const piper =
    config.speech.neural !== 'off' && piperFiles(config.speech.modelDir).missing.length === 0
      ? new PiperEngine({
          modelDir: config.speech.modelDir,
          espeak: config.speech.espeak,
          onEvent: logEngineEvents(logger, 'Piper voice'),
        })
      : undefined;
  const characters = new CharacterService(store.db, registrar);
  const usage = new UsageLedger(store.db, sessions);
  const speech = new SpeechService({ flite, kokoro, piper, openai });
  const renders = new RenderService(registrar);
  const host = new LocalMediaHost({
    maxViewedSessions: config.capacity.liveSessions,
    livekit: config.livekit !== undefined,
  });
  const renderPool = new RenderPool(config.capacity.renderThreads);
  const batchRenders = new RenderPool(config.capacity.renders, 10);
  const live = new LiveSessions({
    renderPool,
    sessions,
    characters,
    registrar,
    renders,
    speech,
    usage,
    quota,
    config,
    logger,
    host,
  });
  const memory = new MemoryStore(store.db);
  const embeddedInstalled = fsSync.existsSync(config.llm.embeddedFile);
  const models = new ModelRegistry({
    embedded: embeddedInstalled
      ? new EmbeddedModel({
          file: config.llm.embeddedFile,
          name: 'embedded:smollm2-135m-instruct',
          processes: config.llm.processes,
          threads: config.llm.threads,
          onEvent: logEngineEvents(logger, 'language model'),
        })
      : undefined,
    embeddedMissing: embeddedInstalled ? undefined : `${config.llm.embeddedFile} is missing`,
    serverDefault: config.llm.url
      ? { baseUrl: config.llm.url, apiKey: config.llm.key, model: config.llm.model }
      : undefined,
  });
  const agent = new ConversationAgent({ models, memory, logger });
  const sttMissing = config.stt.url ? undefined : embeddedRecognizerMissing(config.stt);
  const stt: SpeechToText | undefined = config.stt.url
    ? new OpenAiCompatibleRecognizer({
        baseUrl: config.stt.url,
        apiKey: config.stt.key,
        model: config.stt.model,
      })
    : sttMissing
      ? undefined
      : new EmbeddedRecognizer({
          modelDir: config.stt.modelDir,
          python: config.stt.python,
          processes: config.stt.processes,
          threads: config.stt.threads,
          onEvent: logEngineEvents(logger, 'speech recogniser'),
        });
  const admission = {
    renders: new AdmissionQueue({
      name: 'MP4 renders',
      setting: 'LIKENESS_MAX_RENDERS, LIKENESS_MAX_RENDER_QUEUE',
      concurrency: config.capacity.renders,
      maxWaiting: config.capacity.renderQueue,
      typicalSeconds: 2,
    }),
    registrations: new AdmissionQueue({
      name: 'Character registrations',
      setting: 'LIKENESS_MAX_REGISTRATIONS, LIKENESS_MAX_REGISTRATION_QUEUE',
      concurrency: config.capacity.registrations,
      maxWaiting: config.capacity.registrationQueue,
      typicalSeconds: 0.5,
    }),
  };
  const onDemand = { batchRenders, sessions, characters, speech, usage, quota, renders, registrar, config };
  const conversations = new ConversationService({
    sessions,
    characters,
    live,
    agent,
    memory,
    files,
    renders: admission.renders,
    onDemand,
    config,
    logger,
    stt,
    sttMissing,
  });
  live.onHearing = (tenantId, sessionId, media) => conversations.listen(tenantId, sessionId, media);
  const webhooks = new WebhookService(store.db, config.webhooks, logger);
  connectEventSources(webhooks, { sessions, live, usage, quota });
  const videos = new VideoJobs({
    ...onDemand,
    db: store.db,
    queue: admission.renders,
    events: webhooks,
    logger,
  });
  const stopping = new AbortController();
  const load = new LoadMonitor();
  const metrics = new ServerMetrics({ host, usage, conversations, admission, load });
  const services: Services = {
    config,
    logger,
    stopping: stopping.signal,
    beginShutdown: () => stopping.abort(),
    store,
    registrar,
    characters,
    sessions,
    usage,
    quota,
    tenancy: new TenancyService(store.db),
    speech,
    renders,
    live,
    tokens: new SessionTokens({ secret: config.tokenSecret, dataDir: config.dataDir }),
    load,
    metrics,
    batchRenders,
    admission,
    conversations,
    memory,
    models,
    stt,
    webhooks,
    videos,
    shutdown: async () => {
      stopping.abort();
      await webhooks.dispatcher.stop();
      await conversations.closeAll();
      await live.closeAll();
      await models.close();
      await stt?.close?.();
      await renderPool.close();
      await batchRenders.close();
      await flite.close();
      await kokoro?.close();
      await piper?.close();
      services.load.close();
    },
  };
  return services;
}

/** An engine pool's crashes and hangs, in the log (the pool has already replaced the process). */
function logEngineEvents(logger: Logger, engine: string): (e: EnginePoolEvent) => void {
  return (e) => {
    if (e.type === 'exited' && !e.expected) logger.error(e, `${engine} process crashed; restarting it`);
    if (e.type === 'timeout') logger.error(e, `${engine} process hung; killing and restarting it`);
  };
}

/** Why the neural voice cannot run here (switched off, files not installed, no espeak-ng), or undefined. */
export function neuralVoiceMissing(config: Config): string | undefined {
  if (config.speech.neural === 'off') return 'LIKENESS_NEURAL_VOICE=off';
  const cores = os.availableParallelism();
  if (config.speech.neural === 'auto' && cores < NEURAL_MIN_CORES)
    return `${cores} cores: the neural voice needs ${NEURAL_MIN_CORES} to keep ahead of live video (LIKENESS_NEURAL_VOICE=on forces it)`;
  const files = kokoroFiles(config.speech.modelDir);
  if (files.missing.length) return `${files.missing[0]} is missing (run "npm run setup")`;
  const espeak = spawnSync(config.speech.espeak, ['--version'], { stdio: 'ignore', timeout: 5000 });
  if (espeak.status !== 0) return `${config.speech.espeak} is not installed (apt-get install espeak-ng)`;
  return undefined;
}

function sttMissing(services: Services): string | undefined {
  return services.config.stt.url ? undefined : embeddedRecognizerMissing(services.config.stt);
}

/** Opens the store, migrates, makes sure keys and the default cast exist, then listens. */
export async function startServer(config: Config, opts: { logger?: Logger } = {}): Promise<RunningServer> {
  const services = await buildServices(config, opts.logger);
  const { logger } = services;
  const swept = await sweepDataDir(config.dataDir, services.store.db);
  if (swept.removed.length) logger.warn({ removed: swept.removed }, 'removed leftovers of an earlier crash');
  // The speech engine processes start now, so the first sentence does not wait for them.
  services.speech.warm();
  if (!services.speech.neural)
    logger.warn(
      { why: neuralVoiceMissing(config) },
      'the neural voice is not running here: Flite speaks for the neural voices (kokoro:*)',
    );
  services.live.warm();
  services.batchRenders.warm();
  if (services.models.embedded) services.models.embedded.warm();
  else if (!config.llm.url)
    logger.warn(
      { file: config.llm.embeddedFile },
      'the embedded language model is not installed (run "npm run setup"): messages answer 503 until it is, or set LIKENESS_LLM_URL',
    );
  if (services.stt instanceof EmbeddedRecognizer) services.stt.warm();
  if (services.stt) void warmVad().catch((err) => logger.error({ err }, 'the VAD could not be loaded'));
  else
    logger.warn(
      { why: sttMissing(services) },
      'no speech recogniser (run "npm run setup", or set LIKENESS_STT_URL): microphones are not heard and audio messages answer 503',
    );
  const { createdKey } = await services.tenancy.bootstrapKeys(config.apiKey);
  for (const tenantId of await services.tenancy.listTenantIds()) await services.characters.seedCast(tenantId);
  services.sessions.startSweeper();
  const interrupted = await services.videos.recoverInterrupted();
  if (interrupted)
    logger.warn({ videos: interrupted }, 'videos left rendering by an earlier stop are marked failed');
  const expireVideos = () =>
    services.videos.expire(new Date()).catch((err) => logger.error({ err }, 'expiring videos failed'));
  await expireVideos();
  const videoSweeper = setInterval(expireVideos, 3600_000);
  videoSweeper.unref();
  // Deliveries still pending from before a restart go out now.
  services.webhooks.dispatcher.start();
  const { app } = createApp(() => services);

  const server = await new Promise<ReturnType<typeof serve>>((resolve) => {
    const s = serve({ fetch: app.fetch, port: config.port, hostname: config.host }, () => resolve(s));
  });
  // An idle keep-alive connection is closed by the client first (fetch/undici after 4 s, browsers after more),
  // never by the server just as the client reuses it: with Node's 5 s the two raced, and on a busy event loop
  // (a video registration) the client's next request met a closed socket (ECONNRESET). 65 s also outlasts the
  // usual proxies' idle timeout (60 s).
  const http = server as unknown as { keepAliveTimeout: number; headersTimeout: number };
  http.keepAliveTimeout = 65_000;
  http.headersTimeout = 66_000;
  const port = (server.address() as AddressInfo).port;
  const url = `http://${config.host === '0.0.0.0' ? 'localhost' : config.host}:${port}`;
  logger.info({ url, dataDir: config.dataDir, database: services.store.backend }, 'likeness listening');

  let closing: Promise<void> | undefined;
  return {
    url,
    port,
    services,
    bootstrapKey: createdKey,
    close: () => {
      closing ??= (async () => {
        services.beginShutdown();
        services.sessions.stopSweeper();
        clearInterval(videoSweeper);
        await services.live.closeAll();
        await new Promise<void>((resolve) => {
          server.close(() => resolve());
          // Keep-alive connections would hold close() open; end them.
          (server as unknown as { closeAllConnections?: () => void }).closeAllConnections?.();
        });
        await services.store.close();
        await services.shutdown();
        logger.info('likeness stopped');
      })();
      return closing;
    },
  };
}
