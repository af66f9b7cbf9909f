/**
 * Stage 2, the language model: chat messages in, text deltas out, cancellable with an AbortSignal. Adapters:
 * the embedded model (embedded.ts: llama.cpp in a supervised process) and any OpenAI-compatible
 * chat-completions endpoint (openai-compatible.ts).
 */
export interface ChatMessage {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

export interface ChatOptions {
  signal?: AbortSignal | undefined;
  /** Upper bound on the reply, in tokens. */
  maxTokens?: number;
  temperature?: number;
  /** Told once the reply is complete, by models that can say: how much of the prompt had to be read. */
  onUsage?: ((usage: PromptUsage) => void) | undefined;
}

/** The prompt of one reply: its tokens, and how many were read for it (the rest was already in context). */
export interface PromptUsage {
  promptTokens: number;
  readTokens: number;
}

export interface LanguageModel {
  /** "embedded:smollm2-135m-instruct", "openai:gpt-4o-mini": for logs, events and the turn's record. */
  readonly name: string;
  /** Streams the reply as text deltas. Throws ModelFailure; stops quietly when the signal aborts. */
  chat(messages: ChatMessage[], opts?: ChatOptions): AsyncIterable<string>;
  /**
   * A hint: the next reply's prompt will start with these messages. A model that keeps state between replies
   * (the embedded one) reads them now, in the background, so the reply pays only for what is new. Replies
   * always come first; a hint never delays one by more than a few tokens' work.
   */
  prepare?(messages: ChatMessage[]): void;
}

/** Why a model could not answer: `unavailable` (not reachable, not installed), `timeout`, `failed`. */
export class ModelFailure extends Error {
  constructor(
    readonly kind: 'unavailable' | 'timeout' | 'failed',
    message: string,
  ) {
    super(message);
    this.name = 'ModelFailure';
  }
}
