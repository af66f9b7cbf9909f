import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * Standard Webhooks (https://www.standardwebhooks.com) signing: the secret is "whsec_" + base64 of 24 random
 * bytes; the signature is base64(HMAC-SHA256(secret bytes, "<id>.<timestamp>.<body>")), sent as
 * `webhook-signature: v1,<signature>` beside `webhook-id` and `webhook-timestamp` (Unix seconds).
 * Receivers verify with any Standard Webhooks library (`standardwebhooks` on npm, svix, ...).
 */
export const SECRET_PREFIX = 'whsec_';

export function newWebhookSecret(): string {
  return SECRET_PREFIX + randomBytes(24).toString('base64');
}

export function signPayload(secret: string, id: string, timestampS: number, body: string): string {
  const key = Buffer.from(secret.slice(SECRET_PREFIX.length), 'base64');
  return `v1,${createHmac('sha256', key).update(`${id}.${timestampS}.${body}`).digest('base64')}`;
}

/** The headers of one delivery attempt. The id stays the same across retries: receivers dedupe on it. */
export function webhookHeaders(secret: string, id: string, timestampS: number, body: string) {
  return {
    'content-type': 'application/json',
    'webhook-id': id,
    'webhook-timestamp': String(timestampS),
    'webhook-signature': signPayload(secret, id, timestampS, body),
  };
}

/** Constant-time check of one `v1,<sig>` against the header (which may carry several, space-separated). */
export function verifySignature(
  secret: string,
  id: string,
  timestampS: number,
  body: string,
  header: string,
): boolean {
  const expected = Buffer.from(signPayload(secret, id, timestampS, body));
  return header.split(' ').some((candidate) => {
    const given = Buffer.from(candidate);
    return given.length === expected.length && timingSafeEqual(given, expected);
  });
}
