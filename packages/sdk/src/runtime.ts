/** Hand-written transport under the generated client: auth, JSON and multipart bodies, problem errors. */

export interface ClientOptions {
  /** e.g. http://localhost:8080 */
  baseUrl: string;
  apiKey?: string;
  fetch?: typeof fetch;
  headers?: Record<string, string>;
}

/** RFC 9457 problem details, as every Likeness error is returned. */
export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  instance?: string;
  errors?: { path: string; message: string }[];
  [extension: string]: unknown;
}

export class LikenessError extends Error {
  readonly status: number;
  readonly problem: Problem;

  constructor(problem: Problem) {
    super(`${problem.title}: ${problem.detail}`);
    this.name = 'LikenessError';
    this.status = problem.status;
    this.problem = problem;
  }

  /** The stable problem slug, e.g. "no-face" for type "/problems/no-face". */
  get slug(): string {
    return this.problem.type.split('/').pop() ?? this.problem.type;
  }
}

interface OperationInfo {
  method: string;
  path: string;
  body: 'none' | 'json' | 'multipart';
  response: 'none' | 'json' | 'binary';
}

interface Args {
  path?: Record<string, string | number>;
  query?: Record<string, string | number | boolean | undefined>;
  body?: unknown;
}

export async function request<T>(options: ClientOptions, op: OperationInfo, args: Args): Promise<T> {
  const url = new URL(
    op.path.replace(/\{(\w+)\}/g, (_, name: string) => encodeURIComponent(String(args.path?.[name] ?? ''))),
    options.baseUrl,
  );
  for (const [key, value] of Object.entries(args.query ?? {}))
    if (value !== undefined) url.searchParams.set(key, String(value));
  const headers: Record<string, string> = { ...options.headers };
  if (options.apiKey) headers.authorization = `Bearer ${options.apiKey}`;
  let body: RequestInit['body'];
  if (op.body === 'json') {
    headers['content-type'] = 'application/json';
    body = JSON.stringify(args.body);
  } else if (op.body === 'multipart') {
    const form = new FormData();
    for (const [key, value] of Object.entries((args.body ?? {}) as Record<string, unknown>)) {
      if (value === undefined) continue;
      if (value instanceof Blob) form.append(key, value, (value as File).name ?? key);
      else form.append(key, String(value));
    }
    body = form;
  }
  const response = await (options.fetch ?? fetch)(url, { method: op.method, headers, body });
  if (!response.ok) {
    const text = await response.text();
    let problem: Problem;
    try {
      problem = JSON.parse(text) as Problem;
    } catch {
      problem = {
        type: 'about:blank',
        title: response.statusText,
        status: response.status,
        detail: text.slice(0, 500),
      };
    }
    throw new LikenessError(problem);
  }
  if (op.response === 'none') return undefined as T;
  if (op.response === 'binary') return (await response.blob()) as T;
  return (await response.json()) as T;
}
