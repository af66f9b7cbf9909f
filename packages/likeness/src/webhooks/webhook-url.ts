import { Problem } from '../errors.ts';
import { resolveHost } from '../private-network.ts';

const MAX_URL_CHARS = 2048;

/**
 * A webhook URL is checked when it is registered, so a typo fails the POST rather than every delivery
 * after it: http(s) only, no user:password (secrets go in the signature, not the URL), a host name that
 * resolves now, and (unless the operator allows it: LIKENESS_WEBHOOK_ALLOW_PRIVATE_URLS=1) not on this
 * server's own network. A receiver that is down later is a delivery failure, retried and listed.
 */
export async function checkWebhookUrl(raw: string, opts: { allowPrivate: boolean }): Promise<URL> {
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
  const host = await resolveHost(url.hostname);
  if (!host.resolves) throw bad(`has a host name (${url.hostname}) that does not resolve`);
  if (host.private && !opts.allowPrivate)
    throw bad(
      `points at a private or loopback address (${url.hostname}); this server does not call those (LIKENESS_WEBHOOK_ALLOW_PRIVATE_URLS=1 allows it)`,
    );
  return url;
}

/** At delivery time too: a name that resolved outside when registered may point inside now. */
export async function deliverableHost(
  url: string,
  opts: { allowPrivate: boolean },
): Promise<string | undefined> {
  if (opts.allowPrivate) return undefined;
  const host = await resolveHost(new URL(url).hostname);
  return host.private ? 'refused: the host now resolves to a private or loopback address' : undefined;
}
