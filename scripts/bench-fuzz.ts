/**
 * Fuzz bench (issue 9): `npm run bench:fuzz -- [cases] [--seed N]` (default 10,000 cases, random seed,
 * printed). The same generated requests as the fuzz test (test/helpers/fuzz.ts) against a real server on the
 * embedded database: counts answers by status, 5xx, responses that break the contract (not problem+json, unknown
 * type, 429 without Retry-After), refused requests that left a row or a file, and whether the server stayed up.
 * Then 100 MB bodies on every body-taking route, declared and chunked: status and the server's memory growth.
 */
import http from 'node:http';
import fc from 'fast-check';
import { fuzzRequests, sendAndCheck } from '../packages/likeness/test/helpers/fuzz.ts';
import { buildWorld, snapshot } from '../packages/likeness/test/helpers/fuzz-world.ts';
import { ADMIN_KEY, startTestServer } from '../packages/likeness/test/helpers/test-server.ts';

const args = process.argv.slice(2);
const cases = Number(args.find((a) => /^\d+$/.test(a)) ?? 10_000);
const seedAt = args.indexOf('--seed');
const seed = seedAt >= 0 ? Number(args[seedAt + 1]) : Date.now() % 2 ** 31;
console.error(`[fuzz] ${cases} cases, seed ${seed}`);

const t = await startTestServer({
  env: {
    LIKENESS_MAX_TEXT_CHARS: '120',
    LIKENESS_MAX_MESSAGE_CHARS: '120',
    LIKENESS_MAX_CONCURRENT_SESSIONS: '10000',
  },
});
const world = await buildWorld(t);
const requests = fc.sample(fuzzRequests(world), { numRuns: cases, seed });
const byStatus: Record<string, number> = {};
const byProblem: Record<string, number> = {};
const violations: string[] = [];
const leftovers: string[] = [];
let fiveXX = 0;
let down = 0;
const started = performance.now();
const rssStart = process.memoryUsage().rss;
for (const [i, req] of requests.entries()) {
  const before = await snapshot(t);
  const out = await sendAndCheck(req);
  byStatus[out.status] = (byStatus[out.status] ?? 0) + 1;
  if (out.problemType) byProblem[out.problemType] = (byProblem[out.problemType] ?? 0) + 1;
  if (out.status >= 500) fiveXX++;
  if (out.violation) violations.push(`#${i} ${req.label}: ${out.violation}`);
  if (out.status >= 400 && (await snapshot(t)) !== before)
    leftovers.push(`#${i} ${req.label} (${out.problemType})`);
  if ((await fetch(`${t.server.url}/healthz`)).status !== 200) down++;
  if ((i + 1) % 1000 === 0) console.error(`[fuzz] ${i + 1} done, ${violations.length} violations`);
}
const fuzz = {
  cases,
  seed,
  seconds: Math.round((performance.now() - started) / 1000),
  status_counts: byStatus,
  problem_types: byProblem,
  five_xx: fiveXX,
  contract_violations: violations.length,
  first_violations: violations.slice(0, 10),
  refusals_that_left_something: leftovers.length,
  first_leftovers: leftovers.slice(0, 10),
  health_check_failures: down,
  server_crashes: 0, // the server runs in this process: had it crashed, this line would not print
  rss_mb: { start: Math.round(rssStart / 1e6), end: Math.round(process.memoryUsage().rss / 1e6) },
  targets: '0 crashes and 0 5xx; every 4xx problem+json',
};

/** Sends `bytes` of zeros (declared or chunked) and returns the status and how much was sent before the answer. */
function sendLarge(url: string, key: string, bytes: number, chunked: boolean, contentType: string) {
  return new Promise<{ status: number; sent_mb: number }>((resolve, reject) => {
    const req = http.request(url, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${key}`,
        'content-type': contentType,
        ...(chunked ? {} : { 'content-length': String(bytes) }),
      },
    });
    const chunk = Buffer.alloc(64 * 1024);
    let sent = 0;
    let done = false;
    req.on('response', (res) => {
      done = true;
      res.resume();
      res.on('end', () => {
        resolve({ status: res.statusCode!, sent_mb: Math.round((sent / 1e6) * 10) / 10 });
        req.destroy();
      });
    });
    req.on('error', (err) => (done ? undefined : reject(err)));
    const pump = () => {
      while (!done && sent < bytes) {
        sent += chunk.length;
        if (!req.write(chunk)) return void req.once('drain', pump);
      }
      if (!done) req.end();
    };
    pump();
  });
}

const realtime = world.ids[2]!;
const token = world.credentials.sessionToken!;
const bodies: Record<string, unknown>[] = [];
for (const [label, url, key, type] of [
  ['POST /v1/sessions/{id}/whep (session token)', `/v1/sessions/${realtime}/whep`, token, 'application/sdp'],
  ['POST /v1/sessions', '/v1/sessions', ADMIN_KEY, 'application/json'],
  ['POST /v1/sessions/{id}/speak', `/v1/sessions/${realtime}/speak`, ADMIN_KEY, 'application/json'],
  ['POST /v1/characters (multipart)', '/v1/characters', ADMIN_KEY, 'multipart/form-data; boundary=x'],
] as const) {
  for (const chunked of [false, true]) {
    global.gc?.();
    const before = process.memoryUsage().rss;
    const r = await sendLarge(`${t.server.url}${url}`, key, 100 * 1024 * 1024, chunked, type);
    const growth = Math.round(((process.memoryUsage().rss - before) / 1e6) * 10) / 10;
    bodies.push({ route: label, body: chunked ? 'chunked' : 'content-length', ...r, rss_growth_mb: growth });
  }
}
await t.close();
console.log(
  JSON.stringify(
    {
      fuzz,
      oversized_bodies: {
        bytes: 100 * 1024 * 1024,
        results: bodies,
        target: '413 and memory growth < 20 MB',
      },
    },
    null,
    2,
  ),
);
process.exit(0);
