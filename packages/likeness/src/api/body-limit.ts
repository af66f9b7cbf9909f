import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import type { MiddlewareHandler } from 'hono';
import { Problem } from '../errors.ts';

/** Bodies up to this size stay in memory while they stream in; larger ones are spooled to a temporary file. */
const SPOOL_AT = 1024 * 1024;

function tooLarge(limit: number, what: string): Problem {
  return new Problem('payload-too-large', `${what} is limited to ${limit} bytes.`, { max_bytes: limit });
}

/**
 * Enforces a per-route body limit while the body streams, before anything parses it: a declared
 * Content-Length over the limit is refused at once without reading a byte; a chunked body is counted as it
 * arrives and refused the moment it passes the limit. What has been read stays under 1 MiB in memory (the
 * rest goes to a temporary file that is removed when the request ends), so a 100 MB body costs the server
 * next to nothing whichever way it is sent.
 *
 * `limitFor` returns the limit for a request (undefined: no body expected, the JSON limit applies).
 */
export function limitBodies(opts: {
  limitFor: (method: string, path: string, contentType: string) => { bytes: number; what: string };
  tmpDir: () => string;
}): MiddlewareHandler {
  return async (c, next) => {
    const raw = c.req.raw;
    if (!raw.body) return next();
    const { bytes: limit, what } = opts.limitFor(
      c.req.method,
      c.req.path,
      c.req.header('content-type') ?? '',
    );
    const declared = raw.headers.get('content-length');
    if (declared !== null && !raw.headers.has('transfer-encoding')) {
      // Node's parser stops at the declared length, so a body cannot be longer than it says.
      if (Number(declared) > limit) throw tooLarge(limit, what);
      return next();
    }
    const spooled = await readCapped(raw.body, limit, what, opts.tmpDir());
    try {
      const body =
        spooled.kind === 'memory'
          ? spooled.bytes
          : (Readable.toWeb(fs.createReadStream(spooled.file)) as ReadableStream<Uint8Array>);
      c.req.raw = new Request(raw, { body, duplex: 'half' } as RequestInit);
      await next();
    } finally {
      if (spooled.kind === 'file') await fs.promises.rm(spooled.file, { force: true });
    }
  };
}

type Spooled = { kind: 'memory'; bytes: Uint8Array } | { kind: 'file'; file: string };

async function readCapped(
  body: ReadableStream<Uint8Array>,
  limit: number,
  what: string,
  tmpDir: string,
): Promise<Spooled> {
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  let file: string | undefined;
  let out: fs.WriteStream | undefined;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      size += value.length;
      if (size > limit) {
        void reader.cancel().catch(() => undefined);
        throw tooLarge(limit, what);
      }
      if (!out && size > SPOOL_AT) {
        await fs.promises.mkdir(tmpDir, { recursive: true });
        file = path.join(tmpDir, `body-${randomBytes(8).toString('hex')}`);
        out = fs.createWriteStream(file);
        // Errors surface through write()'s callback; a stream destroyed mid-write (the body went over the limit)
        // must not also raise an 'error' event nobody listens to: that would be an uncaught exception.
        out.on('error', () => undefined);
        for (const c of chunks.splice(0)) await write(out, c);
      }
      if (out) await write(out, value);
      else chunks.push(value);
    }
    if (out) {
      await new Promise<void>((resolve, reject) =>
        out!.end((err?: Error | null) => (err ? reject(err) : resolve())),
      );
      return { kind: 'file', file: file! };
    }
    return { kind: 'memory', bytes: Buffer.concat(chunks) };
  } catch (err) {
    out?.destroy();
    if (file) await fs.promises.rm(file, { force: true });
    throw err;
  }
}

function write(stream: fs.WriteStream, chunk: Uint8Array): Promise<void> {
  return new Promise((resolve, reject) => {
    let settled = false;
    const done = (err?: Error | null) => {
      if (settled) return;
      settled = true;
      if (err) reject(err);
      else resolve();
    };
    if (stream.write(chunk, (err) => err && done(err))) done();
    else stream.once('drain', () => done());
  });
}
