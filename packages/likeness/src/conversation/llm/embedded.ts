import { EngineFailure, EnginePool, type EnginePoolEvent } from '../../speech/engine-pool.ts';
import {
  type ChatMessage,
  type ChatOptions,
  type LanguageModel,
  ModelFailure,
  type PromptUsage,
} from './index.ts';

export interface EmbeddedModelOptions {
  /** The GGUF file (installed by `npm run setup`, see models/MODELS.md). */
  file: string;
  /** Name for logs and records: "embedded:smollm2-135m-instruct". */
  name: string;
  /** Processes holding the model; each answers one reply at a time (~400 MB each for the default model). */
  processes?: number;
  threads?: number;
  onEvent?: (e: EnginePoolEvent) => void;
}

interface Reply {
  text: string;
  promptTokens?: number;
  readTokens?: number;
}

interface Request {
  messages: ChatMessage[];
  maxTokens?: number;
  temperature?: number;
}

/**
 * The embedded default: a small chat model run by llama.cpp (node-llama-cpp's prebuilt CPU binaries) in
 * supervised processes (engine-pool.ts): a crash or a hang fails that reply, the process is replaced.
 */
export class EmbeddedModel implements LanguageModel {
  readonly name: string;
  readonly pool: EnginePool<Request, Reply>;
  private prefilled: ((tokens: number) => void)[] = [];

  constructor(opts: EmbeddedModelOptions) {
    this.name = opts.name;
    this.pool = new EnginePool<Request, Reply>({
      name: 'language model',
      script: new URL('./embedded-process.mjs', import.meta.url),
      size: opts.processes ?? 1,
      timeoutMs: 20_000, // without a token for this long, the process is taken for hung
      maxHeapMb: 256,
      niceness: 0, // the reply is on the critical path of a conversation
      env: {
        LIKENESS_LLM_MODEL_FILE: opts.file,
        LIKENESS_LLM_THREADS: String(opts.threads ?? 2),
      },
      onEvent: (e) => {
        const notice = e.type === 'notice' ? (e.notice as { prefilled?: number }) : undefined;
        if (notice?.prefilled !== undefined)
          for (const done of this.prefilled.splice(0)) done(notice.prefilled);
        opts.onEvent?.(e);
      },
    });
  }

  /**
   * Resolves when a process has read a whole prepared prompt into its context, with its length in tokens;
   * undefined if none did within `timeoutMs` (a reply took the context first).
   */
  whenPrepared(timeoutMs = 30_000): Promise<number | undefined> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.prefilled = this.prefilled.filter((f) => f !== done);
        resolve(undefined);
      }, timeoutMs);
      const done = (tokens: number) => {
        clearTimeout(timer);
        resolve(tokens);
      };
      this.prefilled.push(done);
    });
  }

  /** Loads the model now (about a second), so the first reply does not wait for it. */
  warm(): void {
    this.pool.warm();
  }

  /** Reads the messages into the model's context while it is idle (see LanguageModel.prepare). */
  prepare(messages: ChatMessage[]): void {
    this.pool.hint({ prefill: messages });
  }

  get stats() {
    return this.pool.stats;
  }

  async *chat(messages: ChatMessage[], opts: ChatOptions = {}): AsyncIterable<string> {
    try {
      // The process sends the prompt's usage first (an object), then the text as it is written.
      for await (const part of this.pool.stream<string | PromptUsage>(
        {
          messages,
          ...(opts.maxTokens ? { maxTokens: opts.maxTokens } : {}),
          ...(opts.temperature !== undefined ? { temperature: opts.temperature } : {}),
        },
        opts.signal,
      )) {
        if (typeof part === 'string') yield part;
        else opts.onUsage?.({ promptTokens: part.promptTokens, readTokens: part.readTokens });
      }
    } catch (err) {
      if (opts.signal?.aborted) return;
      const failure = err as EngineFailure;
      if (failure instanceof EngineFailure && failure.kind === 'timeout')
        throw new ModelFailure('timeout', `the embedded model did not answer: ${failure.message}`);
      if (failure instanceof EngineFailure && (failure.kind === 'busy' || failure.kind === 'closed'))
        throw new ModelFailure('unavailable', `the embedded model is not available: ${failure.message}`);
      throw new ModelFailure('failed', `the embedded model failed: ${(err as Error).message}`);
    }
  }

  close(): Promise<void> {
    return this.pool.close();
  }
}
