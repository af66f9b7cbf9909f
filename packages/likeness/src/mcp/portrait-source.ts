import fs from 'node:fs/promises';
import path from 'node:path';
import { resolveHost } from '../private-network.ts';

export interface PortraitSourceOptions {
  /** Local paths are read only for a local client (stdio): never for a remote caller of /mcp. */
  allowLocalFiles: boolean;
  /** URLs on loopback or private networks: allowed for a local client, refused for remote callers (SSRF). */
  allowPrivateUrls: boolean;
  maxBytes: number;
  timeoutMs?: number;
}

export class PortraitSourceError extends Error {}

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
      const host = await resolveHost(url.hostname);
      if (!host.resolves)
        throw new PortraitSourceError(`the portrait URL's host (${url.hostname}) does not resolve`);
      if (host.private)
        throw new PortraitSourceError(
          `the portrait URL points at a private or loopback address (${url.hostname}); this server does not fetch those for remote callers`,
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
