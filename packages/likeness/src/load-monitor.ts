import { type IntervalHistogram, monitorEventLoopDelay } from 'node:perf_hooks';

export interface EventLoopLag {
  p50_ms: number;
  p99_ms: number;
  max_ms: number;
  /** The window these figures cover. */
  window_s: number;
}

/**
 * Event-loop lag of this process, in one-minute windows: the render loop and the audio clock run on this
 * loop, so lag here is what viewers feel as late frames. Reported by /healthz and the soak bench.
 */
export class LoadMonitor {
  private readonly histogram: IntervalHistogram = monitorEventLoopDelay({ resolution: 10 });
  private last: EventLoopLag | undefined;
  private windowStart = Date.now();
  private readonly timer: NodeJS.Timeout;

  constructor(windowMs = 60_000) {
    this.histogram.enable();
    this.timer = setInterval(() => {
      this.last = this.read();
      this.histogram.reset();
      this.windowStart = Date.now();
    }, windowMs);
    this.timer.unref();
  }

  private read(): EventLoopLag {
    const ms = (ns: number) => Math.round((ns / 1e6) * 10) / 10;
    return {
      p50_ms: ms(this.histogram.percentile(50)),
      p99_ms: ms(this.histogram.percentile(99)),
      max_ms: ms(this.histogram.max),
      window_s: Math.round((Date.now() - this.windowStart) / 1000),
    };
  }

  /** The last complete window, or the current one during the first minute. */
  eventLoopLag(): EventLoopLag {
    return this.last ?? this.read();
  }

  close(): void {
    clearInterval(this.timer);
    this.histogram.disable();
  }
}
