import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { AdmissionQueue } from '../admission.ts';
import type { LoadMonitor } from '../load-monitor.ts';
import type { LocalMediaHost } from '../realtime/media-host.ts';
import type { ConversationEvent } from '../sessions/conversation-service.ts';
import type { UsageLedger } from '../usage/usage-ledger.ts';

export interface MetricSources {
  host: LocalMediaHost;
  usage: Pick<UsageLedger, 'on'>;
  conversations: { onEvent: ((sessionId: string, e: ConversationEvent) => void) | undefined };
  admission: { renders: AdmissionQueue; registrations: AdmissionQueue };
  load: LoadMonitor;
}

/**
 * What an operator's Prometheus scrapes at /metrics. Latencies are histograms with buckets around their
 * targets; counts that live elsewhere (sessions, viewers, queues, lag) are read at scrape time, so the hot paths
 * pay one increment at most and a scrape costs a few microseconds per series.
 */
export class ServerMetrics {
  readonly registry = new Registry();
  /** Per live session, the last cumulative frames-dropped and underrun counts seen (counters take deltas). */
  private readonly quality = new Map<string, { dropped: number; underruns: number }>();
  private readonly errors: Counter<'type' | 'status'>;
  private readonly scrapeTime: Counter;

  constructor(sources: MetricSources) {
    const registers = [this.registry];
    // The standard process_* and nodejs_* series, under their usual names (existing dashboards read them).
    collectDefaultMetrics({ register: this.registry });
    const speak = new Histogram({
      name: 'likeness_speak_first_audio_seconds',
      help: 'From a speak (or a reply clause) being queued to its first audio sample going out, live sessions.',
      buckets: [0.025, 0.05, 0.1, 0.2, 0.3, 0.45, 0.6, 0.8, 1, 1.5, 2, 3, 5],
      registers,
    });
    const turn = new Histogram({
      name: 'likeness_turn_first_answer_audio_seconds',
      help: "From the end of the user's speech (spoken turns) or the message (typed) to the answer's first sound sent.",
      labelNames: ['input'],
      buckets: [0.25, 0.5, 0.75, 1, 1.25, 1.5, 2, 2.5, 3, 4, 6, 10],
      registers,
    });
    const render = new Histogram({
      name: 'likeness_render_seconds',
      help: 'On-demand work run time (MP4s, stored videos, animation tracks, reply videos), queue wait excluded.',
      labelNames: ['outcome'],
      buckets: [0.25, 0.5, 1, 2, 3, 5, 8, 13, 20, 30, 60, 120],
      registers,
    });
    const registration = new Histogram({
      name: 'likeness_registration_seconds',
      help: 'Character registration run time (face detection, identity; video analysis), queue wait excluded.',
      labelNames: ['outcome'],
      buckets: [0.1, 0.25, 0.5, 1, 2, 4, 8, 15, 30],
      registers,
    });
    const media = new Counter({
      name: 'likeness_media_seconds_total',
      help: 'Media seconds delivered, as metered for usage, by kind (realtime, mp4, animation, reply...).',
      labelNames: ['mode'],
      registers,
    });
    this.errors = new Counter({
      name: 'likeness_errors_total',
      help: 'Problem responses by problem type and HTTP status.',
      labelNames: ['type', 'status'],
      registers,
    });
    const dropped = new Counter({
      name: 'likeness_frames_dropped_total',
      help: 'Live video frames never sent (render thread behind, or the clock skipped after a stall).',
      registers,
    });
    const underruns = new Counter({
      name: 'likeness_audio_underruns_total',
      help: '10 ms ticks of silence inside an utterance, waiting for synthesis.',
      registers,
    });
    this.scrapeTime = new Counter({
      name: 'likeness_metrics_scrape_seconds_total',
      help: 'Time this process spent producing /metrics (what scraping costs it).',
      registers,
    });
    const { host, admission, load } = sources;
    const quality = this.quality;
    new Gauge({
      name: 'likeness_live_sessions',
      help: 'Live media sessions open in this process.',
      registers,
      collect() {
        this.set(host.count);
        for (const id of quality.keys()) if (!host.get(id)) quality.delete(id);
      },
    });
    new Gauge({
      name: 'likeness_viewed_sessions',
      help: 'Live sessions somebody is watching.',
      registers,
      collect() {
        this.set(host.viewedCount);
      },
    });
    new Gauge({
      name: 'likeness_viewers',
      help: 'People watching, over every live session (WHEP peers and LiveKit participants).',
      registers,
      collect() {
        this.set(host.viewerCount);
      },
    });
    new Gauge({
      name: 'likeness_render_queue_depth',
      help: 'On-demand renders running and waiting.',
      labelNames: ['state'],
      registers,
      collect() {
        this.set({ state: 'running' }, admission.renders.stats.running);
        this.set({ state: 'waiting' }, admission.renders.stats.waiting);
      },
    });
    new Gauge({
      name: 'likeness_event_loop_lag_seconds',
      help: 'Event-loop lag over the last minute (the audio clock and frames run on this loop).',
      labelNames: ['quantile'],
      registers,
      collect() {
        const lag = load.eventLoopLag();
        this.set({ quantile: '0.5' }, lag.p50_ms / 1000);
        this.set({ quantile: '0.99' }, lag.p99_ms / 1000);
        this.set({ quantile: '1' }, lag.max_ms / 1000);
      },
    });

    host.onEvent = (sessionId, e) => {
      if (e.type === 'utterance.started') speak.observe(e.queued_ms / 1000);
      else if (e.type === 'metrics') {
        const last = this.quality.get(sessionId) ?? { dropped: 0, underruns: 0 };
        dropped.inc(Math.max(0, e.frames_dropped - last.dropped));
        underruns.inc(Math.max(0, e.audio_underruns - last.underruns));
        this.quality.set(sessionId, { dropped: e.frames_dropped, underruns: e.audio_underruns });
      }
    };
    sources.conversations.onEvent = (_sessionId, e) => {
      if (e.type !== 'reply.finished' || e.metrics.first_sound_ms === undefined) return;
      turn.observe(
        { input: 'end_of_turn_ms' in e.metrics ? 'spoken' : 'typed' },
        e.metrics.first_sound_ms / 1000,
      );
    };
    sources.usage.on('recorded', (e) => media.inc({ mode: e.kind }, Math.max(0, e.after - e.before)));
    admission.renders.onJobDone = (s, failed) => render.observe({ outcome: failed ? 'failed' : 'ok' }, s);
    admission.registrations.onJobDone = (s, failed) =>
      registration.observe({ outcome: failed ? 'failed' : 'ok' }, s);
  }

  /** A problem+json response went out. */
  problem(type: string, status: number): void {
    this.errors.inc({ type, status: String(status) });
  }

  async render(): Promise<{ contentType: string; body: string }> {
    const started = performance.now();
    const body = await this.registry.metrics();
    this.scrapeTime.inc((performance.now() - started) / 1000);
    return { contentType: this.registry.contentType, body };
  }
}
