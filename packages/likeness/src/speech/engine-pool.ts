import { type ChildProcess, fork } from 'node:child_process';
import os from 'node:os';
import { fileURLToPath } from 'node:url';

/** Why a request to an engine process failed. `crashed` and `timeout` restart the process. */
export class EngineFailure extends Error {
  constructor(
    readonly kind: 'crashed' | 'timeout' | 'failed' | 'busy' | 'closed' | 'aborted',
    message: string,
  ) {
    super(message);
    this.name = 'EngineFailure';
  }
}

export interface EnginePoolOptions {
  /** For messages and logs: "flite". */
  name: string;
  /**
   * The engine's entry script. It sends `{ready: true}` once it can work, then answers each `{id, ...request}`
   * with `{id, ...result}` or `{id, error}`, one at a time.
   */
  script: URL;
  /** Processes in the pool; each does one request at a time. */
  size?: number;
  /** A request running longer than this kills its process (a hang) and fails. */
  timeoutMs?: number;
  /** Requests waiting for a free process beyond this are refused at once (`busy`). */
  maxQueue?: number;
  /** A process is replaced after this many requests: whatever it leaks, it cannot leak for long. */
  maxRequestsPerProcess?: number;
  /** Heap limit for each process. */
  maxHeapMb?: number;
  /**
   * A process with no work for this long leaves, and the next request starts one again (0: never). For engines
   * used now and then whose models are large: their memory is given back between uses.
   */
  idleExitMs?: number;
  /** Scheduling priority of the processes relative to 0 (higher: yields to the server). */
  niceness?: number;
  /**
   * Extra processes, beside `size`, kept for urgent requests and run at the server's own priority: someone is
   * waiting in silence for those (the first words of an utterance), and an unprivileged process can lower its
   * priority but never raise it again, so the lane is a process of its own. On a busy 2-core machine a niced
   * Flite took 224 ms for a short clause, 94 ms at the server's priority.
   */
  urgentLanes?: number;
  /** Extra environment for the processes. */
  env?: Record<string, string>;
  /**
   * Another runtime for the script (a Python interpreter): it speaks Node's IPC channel in JSON mode, one JSON
   * object per line on the descriptor in NODE_CHANNEL_FD. Default: Node, with structured-clone messages.
   */
  runtime?: { execPath: string; execArgv?: string[] };
  /**
   * The process reads `{cancel: id}` while it works and gives up that request early: an aborted request
   * then stops holding the process. (Streaming requests are always sent it.)
   */
  cancellable?: boolean;
  onEvent?: (event: EnginePoolEvent) => void;
}

export type EnginePoolEvent =
  | { type: 'spawned'; pid: number }
  | {
      type: 'exited';
      pid: number;
      code: number | null;
      signal: string | null;
      expected: boolean;
      stderr: string;
    }
  | { type: 'timeout'; pid: number }
  /** Something the process reports on its own (`{notice}`), outside any request: e.g. a prefill finished. */
  | { type: 'notice'; pid: number; notice: unknown };

interface Job<Req, Res> {
  id: number;
  request: Req;
  resolve: (value: Res) => void;
  reject: (err: Error) => void;
  signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
  /** Streaming requests: each `{id, partial}` the process sends before its final answer. */
  onPartial: ((partial: unknown) => void) | undefined;
  /** Waits ahead of non-urgent jobs. */
  urgent: boolean;
}

interface Slot<Req, Res> {
  child: ChildProcess;
  ready: boolean;
  job: Job<Req, Res> | undefined;
  timer: NodeJS.Timeout | undefined;
  served: number;
  stderr: string;
  retiring: boolean;
  timedOut: boolean;
  /** An urgent lane: takes only urgent requests, at the server's priority. */
  urgentLane: boolean;
  /** Counts down `idleExitMs` while the process has no work. */
  idleTimer: NodeJS.Timeout | undefined;
  /** Leaving because it was idle: not replaced. */
  parked: boolean;
}

/** Processes sized to the machine: one per core, at least one, at most four. */
export function defaultPoolSize(): number {
  return Math.max(1, Math.min(os.availableParallelism(), 4));
}

/**
 * A supervised pool of engine processes. Each process does one request at a time; requests queue for a free
 * one. A process that crashes or hangs fails only the request it was doing, and is replaced: the server and
 * every other request never notice. Processes are recycled after a number of requests, so a leak inside an
 * engine (descriptors, memory) stays bounded.
 */
export class EnginePool<Req extends object, Res> {
  private readonly slots = new Set<Slot<Req, Res>>();
  private readonly queue: Job<Req, Res>[] = [];
  private readonly respawns = new Set<NodeJS.Timeout>();
  private nextId = 1;
  private closed = false;
  private started = false;
  /** Consecutive crashes of fresh processes: slows respawning when the engine cannot start at all. */
  private failedStarts = 0;
  /** The latest hint given while no process was ready: delivered to the first that is. */
  private pendingHint: object | undefined;
  /** `cancelled`: requests a process gave up because they were aborted (`cancellable` engines). */
  readonly stats = { requests: 0, crashes: 0, timeouts: 0, restarts: 0, cancelled: 0 };
  private readonly opts: Required<Omit<EnginePoolOptions, 'onEvent' | 'env' | 'runtime'>> &
    Pick<EnginePoolOptions, 'onEvent' | 'env' | 'runtime'>;

  constructor(opts: EnginePoolOptions) {
    this.opts = {
      size: defaultPoolSize(),
      timeoutMs: 15_000,
      maxQueue: 512,
      maxRequestsPerProcess: 5000,
      maxHeapMb: 512,
      idleExitMs: 0,
      niceness: 5,
      urgentLanes: 0,
      cancellable: false,
      ...opts,
    };
  }

  get size(): number {
    return this.opts.size;
  }

  /** Live process ids, for tests and diagnostics. */
  get pids(): number[] {
    return [...this.slots].map((s) => s.child.pid ?? -1);
  }

  get queued(): number {
    return this.queue.length;
  }

  /** Starts the processes now rather than on the first request (they take ~200 ms to be ready). */
  warm(): void {
    if (this.started || this.closed) return;
    this.started = true;
    for (let i = 0; i < this.opts.size; i++) this.spawn(false);
    for (let i = 0; i < this.opts.urgentLanes; i++) this.spawn(true);
  }

  /**
   * One request. `urgent` ones wait ahead of the others (after earlier urgent ones): someone is waiting in
   * silence for them, while the others have audio still playing.
   */
  request(request: Req, signal?: AbortSignal, opts: { urgent?: boolean } = {}): Promise<Res> {
    return this.enqueue(request, signal, undefined, opts.urgent ?? false);
  }

  /**
   * A hint to every ready process, outside the request queue (no answer): e.g. what the next request will
   * probably start with, for an engine that keeps state between requests. A process may ignore it.
   */
  hint(message: object): void {
    if (this.closed) return;
    this.warm();
    let sent = false;
    for (const slot of this.slots) {
      if (slot.ready && !slot.retiring) {
        slot.child.send({ hint: message }, () => undefined);
        sent = true;
      }
    }
    // Still starting (the model loads for a second or two): the latest hint goes to the first one ready.
    this.pendingHint = sent ? undefined : message;
  }

  /**
   * A streaming request: yields each partial result (`{id, partial}` from the process) as it comes, then ends
   * with the final answer. Stopping early (or aborting) asks the process to stop (`{cancel: id}`).
   */
  async *stream<P>(request: Req, signal?: AbortSignal, onResult?: (result: Res) => void): AsyncIterable<P> {
    const queue: P[] = [];
    let wake: (() => void) | undefined;
    let done = false;
    let error: Error | undefined;
    const stop = new AbortController();
    const combined = signal ? AbortSignal.any([signal, stop.signal]) : stop.signal;
    this.enqueue(
      request,
      combined,
      (p) => {
        queue.push(p as P);
        wake?.();
      },
      false,
    ).then(
      (result) => {
        onResult?.(result);
        done = true;
        wake?.();
      },
      (err: Error) => {
        error = err;
        done = true;
        wake?.();
      },
    );
    try {
      for (;;) {
        while (queue.length) yield queue.shift()!;
        if (done) {
          if (error && !(error instanceof EngineFailure && error.kind === 'aborted')) throw error;
          return;
        }
        await new Promise<void>((r) => {
          wake = r;
        });
        wake = undefined;
      }
    } finally {
      if (!done) stop.abort();
    }
  }

  private enqueue(
    request: Req,
    signal: AbortSignal | undefined,
    onPartial: ((partial: unknown) => void) | undefined,
    urgent: boolean,
  ): Promise<Res> {
    if (this.closed)
      return Promise.reject(new EngineFailure('closed', `the ${this.opts.name} engine is shut down`));
    if (signal?.aborted) return Promise.reject(new EngineFailure('aborted', 'aborted'));
    if (this.queue.length >= this.opts.maxQueue) {
      return Promise.reject(
        new EngineFailure('busy', `the ${this.opts.name} engine has ${this.queue.length} requests waiting`),
      );
    }
    this.warm();
    this.stats.requests++;
    return new Promise<Res>((resolve, reject) => {
      const job: Job<Req, Res> = {
        id: this.nextId++,
        request,
        resolve,
        reject,
        signal,
        onAbort: undefined,
        onPartial,
        urgent,
      };
      if (signal) {
        job.onAbort = () => {
          const at = this.queue.indexOf(job);
          if (at >= 0) {
            // Waiting: leave the queue at once.
            this.queue.splice(at, 1);
            reject(new EngineFailure('aborted', 'aborted'));
            this.holdLoop();
            return;
          }
          // Running: a streaming or cancellable engine is asked to stop; another finishes, its answer dropped.
          const slot = [...this.slots].find((s) => s.job === job);
          if (slot && (job.onPartial || this.opts.cancellable))
            slot.child.send({ cancel: job.id }, () => undefined);
          reject(new EngineFailure('aborted', 'aborted'));
        };
        signal.addEventListener('abort', job.onAbort, { once: true });
      }
      if (urgent) {
        const at = this.queue.findIndex((j) => !j.urgent);
        this.queue.splice(at < 0 ? this.queue.length : at, 0, job);
      } else this.queue.push(job);
      this.dispatch();
      this.holdLoop();
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const timer of this.respawns) clearTimeout(timer);
    this.respawns.clear();
    for (const job of this.queue.splice(0)) this.settle(job, new EngineFailure('closed', 'shut down'));
    const exits = [...this.slots].map((slot) => {
      slot.retiring = true;
      if (slot.job) this.settle(slot.job, new EngineFailure('closed', 'shut down'));
      slot.job = undefined;
      clearTimeout(slot.timer);
      return new Promise<void>((resolve) => {
        if (slot.child.exitCode !== null || slot.child.signalCode !== null) return resolve();
        slot.child.once('exit', () => resolve());
        slot.child.ref(); // so this process waits for the exit
        slot.child.kill('SIGKILL');
      });
    });
    await Promise.all(exits);
    this.slots.clear();
  }

  private spawn(urgentLane: boolean): void {
    if (this.closed) return;
    const runtime = this.opts.runtime;
    const child = fork(fileURLToPath(this.opts.script), [], {
      // Node engines: typed arrays cross as typed arrays. Another runtime reads and writes JSON lines.
      serialization: runtime ? 'json' : 'advanced',
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
      // Not the server's flags (a TypeScript loader, the test runner's): the engine is plain JS.
      ...(runtime
        ? { execPath: runtime.execPath, execArgv: runtime.execArgv ?? [] }
        : { execArgv: [`--max-old-space-size=${this.opts.maxHeapMb}`] }),
      ...(this.opts.env ? { env: { ...process.env, ...this.opts.env } } : {}),
    });
    const slot: Slot<Req, Res> = {
      child,
      ready: false,
      job: undefined,
      timer: undefined,
      served: 0,
      stderr: '',
      retiring: false,
      timedOut: false,
      urgentLane,
      idleTimer: undefined,
      parked: false,
    };
    // Below the server's priority: the audio clock and the frames of live sessions come first; synthesis
    // runs many times faster than realtime and only has to stay ahead of playback.
    if (child.pid && !urgentLane) {
      try {
        os.setPriority(child.pid, this.opts.niceness);
      } catch {
        // not permitted here: run at the same priority
      }
    }
    this.slots.add(slot);
    (child.stderr as { unref?: () => void } | null)?.unref?.();
    this.holdLoop();
    child.stderr?.on('data', (d: Buffer) => {
      slot.stderr = (slot.stderr + d.toString()).slice(-2000);
    });
    child.on(
      'message',
      (msg: { ready?: boolean; id?: number; error?: string; partial?: unknown; notice?: unknown } & Res) => {
        if (msg.ready) {
          slot.ready = true;
          this.failedStarts = 0;
          if (this.pendingHint) child.send({ hint: this.pendingHint }, () => undefined);
          this.pendingHint = undefined;
          this.dispatch();
          if (!slot.job) this.armIdle(slot);
          return;
        }
        if (msg.notice !== undefined) {
          this.opts.onEvent?.({ type: 'notice', pid: child.pid ?? -1, notice: msg.notice });
          return;
        }
        const job = slot.job;
        if (!job || msg.id !== job.id) return;
        if (msg.partial !== undefined) {
          // Progress: the process is alive; the timeout counts from the last sign of it.
          this.armTimeout(slot);
          if (!job.signal?.aborted) job.onPartial?.(msg.partial);
          return;
        }
        clearTimeout(slot.timer);
        slot.job = undefined;
        slot.served++;
        if (msg.error === 'cancelled') this.stats.cancelled++;
        if (msg.error !== undefined) this.settle(job, new EngineFailure('failed', msg.error));
        else this.settle(job, undefined, msg);
        if (slot.served >= this.opts.maxRequestsPerProcess) this.retire(slot);
        this.dispatch();
        if (!slot.job) this.armIdle(slot);
      },
    );
    child.on('error', () => undefined); // a failed spawn surfaces as 'exit'
    child.on('exit', (code, signal) => this.onExit(slot, code, signal));
    if (child.pid) this.opts.onEvent?.({ type: 'spawned', pid: child.pid });
  }

  private onExit(slot: Slot<Req, Res>, code: number | null, signal: NodeJS.Signals | null): void {
    this.slots.delete(slot);
    clearTimeout(slot.timer);
    clearTimeout(slot.idleTimer);
    const expected = slot.retiring || this.closed;
    this.opts.onEvent?.({
      type: 'exited',
      pid: slot.child.pid ?? -1,
      code,
      signal,
      expected,
      stderr: slot.stderr.trim().split('\n').slice(-5).join('\n'),
    });
    if (slot.job) {
      this.settle(
        slot.job,
        slot.timedOut
          ? new EngineFailure(
              'timeout',
              `the ${this.opts.name} engine did not answer in ${this.opts.timeoutMs} ms`,
            )
          : new EngineFailure(
              'crashed',
              `the ${this.opts.name} engine stopped (${signal ?? `exit ${code}`}) during this request`,
            ),
      );
      slot.job = undefined;
    }
    if (this.closed) return;
    if (slot.parked) {
      // Left for being idle: the next request starts the pool again (work that came meanwhile does so now).
      if (this.slots.size === 0) {
        this.started = false;
        if (this.queue.length > 0) this.warm();
      } else if (this.queue.length > 0) this.spawn(slot.urgentLane);
      return;
    }
    if (!expected) {
      this.stats.crashes++;
      if (!slot.ready) this.failedStarts++;
    }
    this.stats.restarts++;
    // An engine that cannot even start would otherwise respawn in a tight loop.
    const delay = this.failedStarts === 0 ? 0 : Math.min(5000, 100 * 2 ** this.failedStarts);
    if (delay === 0) this.spawn(slot.urgentLane);
    else {
      const timer = setTimeout(() => {
        this.respawns.delete(timer);
        this.spawn(slot.urgentLane);
      }, delay);
      this.respawns.add(timer);
      this.holdLoop();
    }
    if (this.failedStarts > 3) {
      // Nothing will answer soon: fail what waits instead of letting it hang.
      for (const job of this.queue.splice(0))
        this.settle(job, new EngineFailure('crashed', `the ${this.opts.name} engine keeps failing to start`));
    }
  }

  private retire(slot: Slot<Req, Res>): void {
    slot.retiring = true;
    slot.child.kill('SIGKILL');
  }

  private dispatch(): void {
    // Urgent lanes first, and only for urgent requests (those wait at the front of the queue).
    for (const slot of this.slots) {
      if (!this.queue[0]?.urgent) break;
      if (slot.urgentLane && this.idle(slot)) this.assign(slot, this.queue.shift()!);
    }
    for (const slot of this.slots) {
      if (this.queue.length === 0) return;
      if (!slot.urgentLane && this.idle(slot)) this.assign(slot, this.queue.shift()!);
    }
  }

  private idle(slot: Slot<Req, Res>): boolean {
    return slot.ready && !slot.job && !slot.retiring;
  }

  private armIdle(slot: Slot<Req, Res>): void {
    if (!this.opts.idleExitMs) return;
    clearTimeout(slot.idleTimer);
    slot.idleTimer = setTimeout(() => {
      if (!this.idle(slot) || this.queue.length > 0) return;
      slot.parked = true;
      this.retire(slot);
    }, this.opts.idleExitMs);
    slot.idleTimer.unref();
  }

  private assign(slot: Slot<Req, Res>, job: Job<Req, Res>): void {
    clearTimeout(slot.idleTimer);
    slot.job = job;
    this.armTimeout(slot);
    slot.child.send({ id: job.id, ...job.request }, (err) => {
      if (err) this.retire(slot); // the channel broke: the exit handler fails the job
    });
  }

  private armTimeout(slot: Slot<Req, Res>): void {
    clearTimeout(slot.timer);
    slot.timer = setTimeout(() => {
      this.stats.timeouts++;
      slot.timedOut = true;
      this.opts.onEvent?.({ type: 'timeout', pid: slot.child.pid ?? -1 });
      this.retire(slot);
    }, this.opts.timeoutMs);
  }

  /** An idle pool must not keep a CLI run alive; one with work waiting or running must. */
  private holdLoop(): void {
    const working = this.queue.length > 0 || [...this.slots].some((s) => s.job);
    for (const timer of this.respawns) working ? timer.ref() : timer.unref();
    for (const slot of this.slots) {
      const channel = slot.child.channel as { ref?: () => void; unref?: () => void } | undefined;
      if (working) {
        slot.child.ref();
        channel?.ref?.();
      } else {
        slot.child.unref();
        channel?.unref?.();
      }
    }
  }

  private settle(job: Job<Req, Res>, err: Error | undefined, value?: Res): void {
    if (job.onAbort) job.signal?.removeEventListener('abort', job.onAbort);
    queueMicrotask(() => this.holdLoop());
    if (err) job.reject(err);
    else job.resolve(value as Res);
  }
}
