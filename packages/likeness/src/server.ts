import fs from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import pino, { type Logger } from 'pino';
import { createApp } from './api/app.ts';
import { CharacterService } from './characters/character-service.ts';
import type { Config } from './config.ts';
import { RealtimeService } from './realtime/realtime-service.ts';
import { FaceDetector } from './registration/face-detector.ts';
import { Registrar } from './registration/registrar.ts';
import { RenderService } from './render/render-service.ts';
import type { Services } from './services.ts';
import { SessionService } from './sessions/session-service.ts';
import { FliteEngine } from './speech/flite-engine.ts';
import { OpenAiSpeechEngine } from './speech/openai-speech.ts';
import { SpeechService } from './speech/speech-service.ts';
import { openStore } from './store/db.ts';
import { FileStore } from './store/files.ts';
import { SessionTokens } from './tenancy/session-token.ts';
import { TenancyService } from './tenancy/tenancy-service.ts';
import { UsageLedger } from './usage/usage-ledger.ts';

export interface RunningServer {
  url: string;
  port: number;
  services: Services;
  /** Set when this start created the first API key: print it once. */
  bootstrapKey: string | undefined;
  close(): Promise<void>;
}

/** One detector per process: its models take ~100 ms and some memory to load. */
let sharedDetector: FaceDetector | undefined;

export async function buildServices(
  config: Config,
  logger: Logger = pino({ level: config.logLevel }),
): Promise<Services> {
  await fs.mkdir(config.dataDir, { recursive: true });
  const store = await openStore({ dataDir: config.dataDir, databaseUrl: config.databaseUrl });
  const files = new FileStore(config.dataDir);
  sharedDetector ??= new FaceDetector();
  const registrar = new Registrar({ db: store.db, files, detector: sharedDetector, limits: config.limits });
  const sessions = new SessionService(store.db, config);
  const flite = new FliteEngine();
  const openai = config.speech.openaiUrl
    ? new OpenAiSpeechEngine({
        baseUrl: config.speech.openaiUrl,
        apiKey: config.speech.openaiKey,
        model: config.speech.openaiModel,
      })
    : undefined;
  const services: Services = {
    config,
    logger,
    store,
    registrar,
    characters: new CharacterService(store.db, registrar),
    sessions,
    usage: new UsageLedger(store.db, sessions),
    tenancy: new TenancyService(store.db),
    speech: new SpeechService({ flite, openai }),
    renders: new RenderService(registrar),
    realtime: new RealtimeService(() => services),
    tokens: new SessionTokens({ secret: config.tokenSecret, dataDir: config.dataDir }),
    shutdown: async () => {
      await services.realtime.closeAll();
      await flite.close();
    },
  };
  services.realtime.listen();
  return services;
}

/** Opens the store, migrates, makes sure keys and the default cast exist, then listens. */
export async function startServer(config: Config, opts: { logger?: Logger } = {}): Promise<RunningServer> {
  const services = await buildServices(config, opts.logger);
  const { logger } = services;
  const { createdKey } = await services.tenancy.bootstrapKeys(config.apiKey);
  for (const tenantId of await services.tenancy.listTenantIds()) await services.characters.seedCast(tenantId);
  services.sessions.startSweeper();
  const { app } = createApp(() => services);

  const server = await new Promise<ReturnType<typeof serve>>((resolve) => {
    const s = serve({ fetch: app.fetch, port: config.port, hostname: config.host }, () => resolve(s));
  });
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
        services.sessions.stopSweeper();
        await services.realtime.closeAll();
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
