import { lookup } from 'node:dns/promises';
import { Problem } from '../errors.ts';

const MAX_URL_CHARS = 2048;

/**
 * A webhook URL is checked when it is registered, so a typo fails the POST rather than every delivery
 * after it: http(s) only, no user:password (secrets go in the signature, not the URL), and a host name that
 * resolves now. A receiver that is down later is a delivery failure, retried and listed with its attempts.
 */
export async function checkWebhookUrl(raw: string, opts: { resolveTimeoutMs?: number } = {}): Promise<URL> {
  const bad = (why: string) =>
    new Problem('invalid-webhook-url', `The webhook URL ${JSON.stringify(raw.slice(0, 200))} ${why}.`, {
      errors: [{ path: 'url', message: why }],
    });
  if (raw.length > MAX_URL_CHARS) throw bad(`is longer than ${MAX_URL_CHARS} characters`);
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw bad('is not an absolute URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw bad(`uses ${url.protocol.replace(/:$/, '')}: only http and https can receive webhooks`);
  if (url.username || url.password)
    throw bad('carries a user name or password: use the signing secret instead');
  if (url.hash) throw bad('has a #fragment, which is never sent to the server');
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const timeout = opts.resolveTimeoutMs ?? 3000;
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      lookup(host),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error('timeout')), timeout);
      }),
    ]);
  } catch {
    throw bad(`has a host name (${host}) that does not resolve`);
  } finally {
    clearTimeout(timer);
  }
  return url;
}
