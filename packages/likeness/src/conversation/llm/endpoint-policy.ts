import { Problem } from '../../errors.ts';
import { isPrivateHost } from '../../private-network.ts';
import type { CharacterModel } from './registry.ts';

/**
 * A character's own model endpoint, as a tenant gives it: an http(s) base URL and a model name. The server
 * will call that URL, so a tenant must not point it at the server's own network (metadata services, admin
 * ports): private and loopback addresses are refused unless the operator allows them
 * (LIKENESS_LLM_ALLOW_PRIVATE_URLS=1, e.g. for a model server on the same machine). Names are not resolved
 * here: an operator who needs protection from DNS tricks filters egress at the network.
 */
export function checkCharacterModel(input: CharacterModel, opts: { allowPrivate: boolean }): CharacterModel {
  let url: URL;
  try {
    url = new URL(input.base_url);
  } catch {
    throw new Problem('validation-error', `llm.base_url is not a URL: "${input.base_url}".`, {
      errors: [{ path: 'llm.base_url', message: 'not a URL' }],
    });
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new Problem(
      'validation-error',
      'llm.base_url must be an http(s) URL (…/v1 of an OpenAI-compatible API).',
      {
        errors: [{ path: 'llm.base_url', message: 'http or https only' }],
      },
    );
  }
  if (url.username || url.password) {
    throw new Problem('validation-error', 'Put the key in llm.api_key, not in the URL.', {
      errors: [{ path: 'llm.base_url', message: 'no credentials in the URL' }],
    });
  }
  if (!opts.allowPrivate && isPrivateHost(url.hostname)) {
    throw new Problem(
      'validation-error',
      `llm.base_url points at a private or loopback address (${url.hostname}); this server does not call those for characters (LIKENESS_LLM_ALLOW_PRIVATE_URLS).`,
      { errors: [{ path: 'llm.base_url', message: 'private address' }] },
    );
  }
  return {
    base_url: url.toString().replace(/\/$/, ''),
    model: input.model,
    ...(input.api_key ? { api_key: input.api_key } : {}),
  };
}
