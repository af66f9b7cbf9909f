import { lookup } from 'node:dns/promises';
import fs from 'node:fs/promises';
import { isIP } from 'node:net';
import path from 'node:path';

export interface PortraitSourceOptions {
  /** Local paths are read only for a local client (stdio): never for a remote caller of /mcp. */
  allowLocalFiles: boolean;
  /** URLs on loopback or private networks: allowed for a local client, refused for remote callers (SSRF). */
  allowPrivateUrls: boolean;
  maxBytes: number;
  timeoutMs?: number;
}

export class PortraitSourceError extends Error {}

function isPrivateAddress(ip: string): boolean {
  if (ip.startsWith('::ffff:')) return isPrivateAddress(ip.slice(7));
  if (isIP(ip) === 6) return ip === '::1' || ip === '::' || /^f[cd]/i.test(ip) || /^fe[89ab]/i.test(ip);
  const [a, b] = ip.split('.').map(Number) as [number, number];
  return (
    a === 10 ||
    a === 127 ||
    a === 0 ||
    (a === 169 && b === 254) ||
    (a === 172 && b >= 16 && b <= 31) ||
    (a === 192 && b === 168) ||
    (a === 100 && b >= 64 && b <= 127)
  );
}

/** Reads a body up to `max` bytes, stopping (and failing) the moment it goes over. */
async function readLimited(res: Response, max: number): Promise<Uint8Array> {
  const declared = Number(res.headers.get('content-length') ?? 0);
  if (declared > max) throw new PortraitSourceError(`the portrait is ${declared} bytes; the limit is ${max}`);
  const chunks: Uint8Array[] = [];
  let total = 0;
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
    total += chunk.length;
    if (total > max) throw new PortraitSourceError(`the portrait is over the ${max}-byte limit`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

/**
 * A portrait given to create_character as a URL, a data: URL, or (local clients only) a file path, as the
 * bytes and a file name for the registration upload. Sizes are capped while reading.
 */
export async function loadPortrait(
  ref: string,
  opts: PortraitSourceOptions,
): Promise<{ bytes: Uint8Array; filename: string; type: string }> {
  const dataUrl = /^data:([\w/+.-]+)?(;base64)?,(.*)$/s.exec(ref);
  if (dataUrl) {
    const type = dataUrl[1] ?? 'application/octet-stream';
    const payload = dataUrl[3]!;
    if (payload.length > Math.ceil((opts.maxBytes * 4) / 3) + 4)
      throw new PortraitSourceError(`the portrait is over the ${opts.maxBytes}-byte limit`);
    const bytes = dataUrl[2] ? Buffer.from(payload, 'base64') : Buffer.from(decodeURIComponent(payload));
    return { bytes, filename: `portrait.${type.split('/')[1] ?? 'bin'}`, type };
  }
  if (/^https?:\/\//i.test(ref)) {
    let url: URL;
    try {
      url = new URL(ref);
    } catch {
      throw new PortraitSourceError('the portrait URL is not valid');
    }
    if (!opts.allowPrivateUrls) {
      const host = url.hostname.replace(/^\[|\]$/g, '');
      const addresses = await lookup(host, { all: true }).catch(() => []);
      if (!addresses.length)
        throw new PortraitSourceError(`the portrait URL's host (${host}) does not resolve`);
      if (addresses.some((a) => isPrivateAddress(a.address)))
        throw new PortraitSourceError(
          `the portrait URL points at a private or loopback address (${host}); this server does not fetch those for remote callers`,
        );
    }
    let res: Response;
    try {
      res = await fetch(url, { redirect: 'error', signal: AbortSignal.timeout(opts.timeoutMs ?? 15_000) });
    } catch (err) {
      const e = err as Error & { cause?: { code?: string } };
      throw new PortraitSourceError(`the portrait URL could not be fetched (${e.cause?.code ?? e.message})`);
    }
    if (!res.ok) throw new PortraitSourceError(`the portrait URL answered ${res.status}`);
    const type = (res.headers.get('content-type') ?? 'application/octet-stream').split(';')[0]!;
    const bytes = await readLimited(res, opts.maxBytes);
    return { bytes, filename: path.basename(url.pathname) || 'portrait', type };
  }
  if (!opts.allowLocalFiles)
    throw new PortraitSourceError(
      'portrait must be an http(s) URL or a data: URL (local file paths work only with the stdio server, `likeness mcp`)',
    );
  const file = path.resolve(ref);
  const stat = await fs.stat(file).catch(() => undefined);
  if (!stat?.isFile()) throw new PortraitSourceError(`no file at ${file}`);
  if (stat.size > opts.maxBytes)
    throw new PortraitSourceError(`${file} is ${stat.size} bytes; the limit is ${opts.maxBytes}`);
  return { bytes: await fs.readFile(file), filename: path.basename(file), type: 'application/octet-stream' };
}
