import { Problem } from '../../errors.ts';
import type { EmbeddedModel } from './embedded.ts';
import type { LanguageModel } from './index.ts';
import { type OpenAiChatConfig, OpenAiCompatibleModel } from './openai-compatible.ts';

/** A character's own model: any OpenAI-compatible endpoint. */
export interface CharacterModel {
  base_url: string;
  model: string;
  api_key?: string | undefined;
}

/**
 * Which model answers for a character: its own endpoint if it names one, else the server's OpenAI-compatible
 * endpoint if configured (LIKENESS_LLM_URL), else the embedded model.
 */
export class ModelRegistry {
  private readonly remote = new Map<string, OpenAiCompatibleModel>();

  constructor(
    private readonly opts: {
      embedded?: EmbeddedModel | undefined;
      serverDefault?: OpenAiChatConfig | undefined;
      /** Why there is no embedded model (missing files), for the 503's detail. */
      embeddedMissing?: string | undefined;
    },
  ) {}

  get embedded(): EmbeddedModel | undefined {
    return this.opts.embedded;
  }

  for(character: { llm: CharacterModel | null }): LanguageModel {
    if (character.llm)
      return this.endpoint({
        baseUrl: character.llm.base_url,
        model: character.llm.model,
        apiKey: character.llm.api_key,
      });
    if (this.opts.serverDefault) return this.endpoint(this.opts.serverDefault);
    if (this.opts.embedded) return this.opts.embedded;
    throw new Problem(
      'model-unavailable',
      `No language model is available: ${this.opts.embeddedMissing ?? 'the embedded model is not installed'}. Run "npm run setup", or set LIKENESS_LLM_URL to an OpenAI-compatible endpoint.`,
      { retry_after_s: 60 },
    );
  }

  private endpoint(config: OpenAiChatConfig): OpenAiCompatibleModel {
    const key = `${config.baseUrl}\u0000${config.model}\u0000${config.apiKey ?? ''}`;
    let model = this.remote.get(key);
    if (!model) {
      model = new OpenAiCompatibleModel(config);
      this.remote.set(key, model);
      if (this.remote.size > 256) this.remote.delete(this.remote.keys().next().value!);
    }
    return model;
  }

  async close(): Promise<void> {
    await this.opts.embedded?.close();
  }
}
