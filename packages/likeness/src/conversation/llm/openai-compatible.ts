import { type ChatMessage, type ChatOptions, type LanguageModel, ModelFailure } from './index.ts';

export interface OpenAiChatConfig {
  /** e.g. https://api.openai.com/v1, or any compatible server's /v1 (llama.cpp server, vLLM, Ollama, ...). */
  baseUrl: string;
  apiKey?: string | undefined;
  model: string;
  /** No first byte within this long: the endpoint is treated as down. */
  firstByteTimeoutMs?: number;
}

/**
 * Any OpenAI-compatible `POST /chat/completions` endpoint, streamed (`stream: true`, Server-Sent Events of
 * `chat.completion.chunk` objects, ended by `data: [DONE]`). Deltas are yielded as they arrive.
 */
export class OpenAiCompatibleModel implements LanguageModel {
  readonly name: string;

  constructor(private readonly config: OpenAiChatConfig) {
    this.name = `openai:${config.model}`;
  }

  async *chat(messages: ChatMessage[], opts: ChatOptions = {}): AsyncIterable<string> {
    const url = `${this.config.baseUrl.replace(/\/$/, '')}/chat/completions`;
    const timeout = new AbortController();
    const timer = setTimeout(() => timeout.abort(), this.config.firstByteTimeoutMs ?? 10_000);
    const signal = opts.signal ? AbortSignal.any([opts.signal, timeout.signal]) : timeout.signal;
    let response: Response;
    try {
      response = await fetch(url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          accept: 'text/event-stream',
          ...(this.config.apiKey ? { authorization: `Bearer ${this.config.apiKey}` } : {}),
        },
        body: JSON.stringify({
          model: this.config.model,
          messages,
          stream: true,
          ...(opts.maxTokens ? { max_tokens: opts.maxTokens } : {}),
          ...(opts.temperature !== undefined ? { temperature: opts.temperature } : {}),
        }),
        signal,
      });
    } catch (err) {
      clearTimeout(timer);
      if (opts.signal?.aborted) return;
      if (timeout.signal.aborted) throw new ModelFailure('timeout', `${url} did not answer in time`);
      throw new ModelFailure('unavailable', `${url} could not be reached: ${(err as Error).message}`);
    }
    if (!response.ok || !response.body) {
      clearTimeout(timer);
      const detail = (await response.text().catch(() => '')).slice(0, 300);
      const kind = response.status >= 500 || response.status === 429 ? 'unavailable' : 'failed';
      throw new ModelFailure(kind, `${url} answered ${response.status}: ${detail || response.statusText}`);
    }
    const decoder = new TextDecoder();
    let buffered = '';
    try {
      for await (const part of response.body as unknown as AsyncIterable<Uint8Array>) {
        clearTimeout(timer);
        buffered += decoder.decode(part, { stream: true });
        for (let nl = buffered.indexOf('\n'); nl >= 0; nl = buffered.indexOf('\n')) {
          const line = buffered.slice(0, nl).trim();
          buffered = buffered.slice(nl + 1);
          if (!line.startsWith('data:')) continue;
          const data = line.slice(5).trim();
          if (data === '[DONE]') return;
          let chunk: { choices?: { delta?: { content?: string | null } }[] };
          try {
            chunk = JSON.parse(data);
          } catch {
            throw new ModelFailure('failed', `${url} sent a chunk that is not JSON: ${data.slice(0, 100)}`);
          }
          const delta = chunk.choices?.[0]?.delta?.content;
          if (delta) yield delta;
        }
      }
    } catch (err) {
      if (opts.signal?.aborted) return;
      if (err instanceof ModelFailure) throw err;
      throw new ModelFailure('failed', `the stream from ${url} broke: ${(err as Error).message}`);
    } finally {
      clearTimeout(timer);
    }
  }
}
