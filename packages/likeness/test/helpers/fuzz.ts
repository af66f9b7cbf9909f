/**
 * Property-based fuzzing of the HTTP API (fast-check), shared by the fuzz test (a few hundred cases in
 * `npm test`) and `npm run bench:fuzz` (10,000 cases, seed printed). Requests are generated from the server's
 * own OpenAPI document: every route, with path ids that exist, belong to another tenant or are garbage, query
 * values, JSON / multipart / SDP bodies built from the route's fields with hostile values, and every kind of
 * credential. The property: the server answers (never crashes), never with a 5xx, every 4xx is problem+json
 * with a known type, and a refused request leaves no row and no file behind.
 */
import fc from 'fast-check';
import { PROBLEM_TYPES } from '../../src/errors.ts';

export interface FuzzRoute {
  method: string;
  path: string;
  query: string[];
  body: 'json' | 'multipart' | 'sdp' | undefined;
  fields: string[];
}

export interface FuzzRequest {
  method: string;
  url: string;
  headers: Record<string, string>;
  body: string | FormData | undefined;
  label: string;
}

export interface FuzzWorld {
  baseUrl: string;
  credentials: Record<string, string>;
  /** Real ids by path parameter name: ours, another tenant's. */
  ids: string[];
  routes: FuzzRoute[];
}

type Schema = { $ref?: string; properties?: Record<string, Schema>; type?: string };
type Spec = {
  paths: Record<
    string,
    Record<
      string,
      {
        parameters?: { name: string; in: string }[];
        requestBody?: { content: Record<string, { schema?: Schema }> };
      }
    >
  >;
  components?: { schemas?: Record<string, Schema> };
};

/** Routes and their inputs, read from /openapi.json. */
export function routesFromSpec(spec: Spec): FuzzRoute[] {
  const resolve = (s: Schema | undefined): Schema | undefined =>
    s?.$ref ? spec.components?.schemas?.[s.$ref.split('/').pop()!] : s;
  const routes: FuzzRoute[] = [];
  for (const [path, ops] of Object.entries(spec.paths)) {
    for (const [method, op] of Object.entries(ops)) {
      const content = op.requestBody?.content ?? {};
      const type = Object.keys(content)[0];
      const body = type?.includes('json')
        ? 'json'
        : type?.includes('multipart')
          ? 'multipart'
          : type?.includes('sdp')
            ? 'sdp'
            : undefined;
      const schema = resolve(type ? content[type]!.schema : undefined);
      routes.push({
        method: method.toUpperCase(),
        path,
        query: (op.parameters ?? []).filter((p) => p.in === 'query').map((p) => p.name),
        body,
        fields: Object.keys(schema?.properties ?? {}),
      });
    }
  }
  return routes;
}

/** Strings that have broken servers before: control characters, encodings, injections, sizes, numbers. */
const NASTY = [
  '',
  ' ',
  '\u0000',
  'a\u0000b',
  '%00',
  '\u0007\u001b[31m',
  '\r\nX-Injected: 1',
  '../../etc/passwd',
  '..%2f..%2f',
  "' OR 1=1 --",
  '"; DROP TABLE sessions; --',
  '<script>alert(1)</script>',
  '\ud800',
  '\udfff\ud800',
  '\u202e\u2066',
  '😀'.repeat(50),
  '你好世界',
  '9'.repeat(400),
  `${'9'.repeat(300)} apples`,
  '$'.repeat(100),
  '1e309',
  '-1',
  'NaN',
  '0x7fffffff',
  'null',
  'true',
  '{}',
  '[]',
  'x'.repeat(6000),
  'ses_',
  'chr_',
  'flite:slt',
  'openai:alloy',
  'flite:../../x',
  'realtime',
  'on_demand',
  'happy',
  'Hello there.',
];

/** Any generated value as text (objects may have no prototype, so no String()). */
function asText(v: unknown): string {
  if (typeof v === 'string') return v;
  try {
    return JSON.stringify(v) ?? '';
  } catch {
    return '';
  }
}

/** encodeURIComponent, except that lone surrogates (which it refuses) go out as the raw bytes of one. */
function encodePathSegment(s: string): string {
  try {
    return encodeURIComponent(s);
  } catch {
    return `${encodeURIComponent(s.replace(/[\ud800-\udfff]/g, ''))}%ED%A0%80`;
  }
}

export function fuzzRequests(world: FuzzWorld): fc.Arbitrary<FuzzRequest> {
  const text = fc.oneof(
    { weight: 3, arbitrary: fc.constantFrom(...NASTY) },
    { weight: 2, arbitrary: fc.string({ maxLength: 40 }) },
    { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }) },
    { weight: 1, arbitrary: fc.constantFrom(...world.ids) },
  );
  const value: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
    any: fc.oneof(
      { weight: 5, arbitrary: text },
      { weight: 2, arbitrary: fc.integer() },
      {
        weight: 1,
        arbitrary: fc.constantFrom(
          0,
          -1,
          1,
          2 ** 31,
          2 ** 53,
          -(2 ** 63),
          Number.POSITIVE_INFINITY,
          Number.NaN,
          0.5,
        ),
      },
      { weight: 1, arbitrary: fc.double() },
      { weight: 1, arbitrary: fc.boolean() },
      { weight: 1, arbitrary: fc.constant(null) },
      { weight: 1, arbitrary: fc.array(tie('any'), { maxLength: 3 }) },
      { weight: 1, arbitrary: fc.dictionary(fc.string({ maxLength: 8 }), tie('any'), { maxKeys: 3 }) },
    ),
  })).any;
  const pathParam = fc.oneof(
    { weight: 3, arbitrary: fc.constantFrom(...world.ids) },
    { weight: 2, arbitrary: text.map(encodePathSegment) },
    { weight: 1, arbitrary: fc.constantFrom('%00', '%2e%2e', 'a%2Fb', '%ff%fe', 'x'.repeat(300), '') },
  );
  const credential = fc.oneof(
    { weight: 6, arbitrary: fc.constantFrom(...Object.values(world.credentials)) },
    { weight: 1, arbitrary: fc.constantFrom('', 'Bearer', 'Bearer lk_nope', 'Basic abc', 'Bearer lst_x.y') },
  );
  const routeArb = fc.constantFrom(...world.routes);
  return fc
    .tuple(
      routeArb,
      fc.array(pathParam, { minLength: 3, maxLength: 3 }),
      fc.dictionary(fc.string({ maxLength: 10 }), text, { maxKeys: 2 }),
      fc.array(fc.tuple(fc.nat(), text), { maxLength: 3 }),
      credential,
      fc.nat(99),
      fc.array(fc.tuple(fc.nat(), value), { maxLength: 5 }),
      fc.dictionary(fc.string({ maxLength: 8 }), value, { maxKeys: 2 }),
      fc.uint8Array({ maxLength: 300 }),
    )
    .map(([route, params, extraQuery, queryPicks, auth, mode, fieldPicks, junk, bytes]) => {
      let i = 0;
      const path = route.path.replace(/\{[^}]+\}/g, () => params[i++ % params.length]!);
      const query = new URLSearchParams();
      for (const [k, v] of queryPicks)
        if (route.query.length) query.set(route.query[k % route.query.length]!, v);
      if (mode < 10) for (const [k, v] of Object.entries(extraQuery)) query.set(k, v);
      const headers: Record<string, string> = {};
      if (auth)
        headers.authorization =
          auth.startsWith('Bearer') || auth.startsWith('Basic') ? auth : `Bearer ${auth}`;
      const fields: Record<string, unknown> = {};
      for (const [k, v] of fieldPicks)
        if (route.fields.length) fields[route.fields[k % route.fields.length]!] = v;
      if (mode < 15) Object.assign(fields, junk);
      let body: string | FormData | undefined;
      if (route.body === 'json' || (mode >= 95 && route.method !== 'GET')) {
        headers['content-type'] = mode % 7 === 0 ? 'text/plain' : 'application/json';
        body =
          mode % 11 === 0 ? ['{', '[', 'nul', '{"text":', '\u0000', ''][mode % 6]! : JSON.stringify(fields);
      } else if (route.body === 'multipart') {
        const form = new FormData();
        for (const [k, v] of Object.entries(fields)) {
          if (k === 'portrait' || k === 'video') form.set(k, new Blob([bytes]), 'upload.bin');
          else form.set(k, asText(v));
        }
        if (mode % 3 === 0) form.set(mode % 2 ? 'portrait' : 'video', new Blob([bytes]), 'x.png');
        body = form;
      } else if (route.body === 'sdp') {
        headers['content-type'] = mode % 5 === 0 ? 'application/json' : 'application/sdp';
        body =
          mode % 2
            ? `v=0\r\n${asText(fields[route.fields[0] ?? ''] ?? 'o=- 0 0 IN IP4 0.0.0.0')}\r\n`
            : asText(Object.values(fields)[0] ?? '');
      }
      const qs = query.toString();
      return {
        method: route.method,
        url: `${world.baseUrl}${path}${qs ? `?${qs}` : ''}`,
        headers,
        body,
        label: `${route.method} ${route.path}`,
      };
    });
}

export interface FuzzOutcome {
  status: number;
  problemType: string | undefined;
  /** Set when the response breaks the property. */
  violation: string | undefined;
}

/** Sends one request and checks the response itself (not side effects). */
export async function sendAndCheck(req: FuzzRequest, timeoutMs = 60_000): Promise<FuzzOutcome> {
  let res: Response;
  try {
    res = await fetch(req.url, {
      method: req.method,
      headers: req.headers,
      ...(req.body !== undefined ? { body: req.body } : {}),
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (err) {
    return { status: 0, problemType: undefined, violation: `no answer: ${(err as Error).message}` };
  }
  const type = res.headers.get('content-type') ?? '';
  if (res.status >= 500) {
    const text = await res.text();
    return { status: res.status, problemType: undefined, violation: `${res.status}: ${text.slice(0, 300)}` };
  }
  if (res.status < 400) {
    await res.body?.cancel().catch(() => undefined);
    return { status: res.status, problemType: undefined, violation: undefined };
  }
  if (!type.startsWith('application/problem+json')) {
    return {
      status: res.status,
      problemType: undefined,
      violation: `${res.status} without problem+json (${type})`,
    };
  }
  const body = (await res.json()) as Record<string, unknown>;
  const slug = String(body.type ?? '').replace('/problems/', '');
  if (!(slug in PROBLEM_TYPES))
    return { status: res.status, problemType: String(body.type), violation: 'unknown problem type' };
  if (body.status !== res.status)
    return { status: res.status, problemType: String(body.type), violation: 'status mismatch' };
  if (typeof body.title !== 'string' || typeof body.detail !== 'string' || !body.detail)
    return { status: res.status, problemType: String(body.type), violation: 'title/detail missing' };
  if ((res.status === 429 || res.status === 503) && !res.headers.get('retry-after'))
    return { status: res.status, problemType: String(body.type), violation: '429 without Retry-After' };
  return { status: res.status, problemType: String(body.type), violation: undefined };
}
