/**
 * The MCP tools speak to Likeness through its own HTTP API: in the server (/mcp) by an in-process request,
 * from `likeness mcp` over the network. One path for both, so a tool can never do what the same key could not
 * do over REST, and every check, limit and problem type is the API's own.
 */
export type ApiFetch = (path: string, init: RequestInit) => Promise<Response>;

/** A problem+json answer from the API, carried to the MCP client as a tool error. */
export class ApiProblem extends Error {
  constructor(
    readonly status: number,
    readonly type: string,
    readonly detail: string,
    readonly body: Record<string, unknown>,
  ) {
    super(`${type.replace(/^.*\/problems\//, '')} (${status}): ${detail}`);
  }

  /** The stable slug of the type URI ("validation-error"). */
  get slug(): string {
    return this.type.replace(/^.*\/problems\//, '');
  }
}

export class LikenessApi {
  constructor(
    private readonly fetcher: ApiFetch,
    /** Origin that links given to the client are made absolute with (http://host:port). */
    readonly publicBase: string,
  ) {}

  absolute(path: string): string {
    return new URL(path, this.publicBase).href;
  }

  async request(method: string, path: string, body?: unknown): Promise<Response> {
    const init: RequestInit = { method };
    if (body instanceof FormData) init.body = body;
    else if (body !== undefined) {
      init.body = JSON.stringify(body);
      init.headers = { 'content-type': 'application/json' };
    }
    const res = await this.fetcher(path, init);
    if (res.ok) return res;
    const text = await res.text();
    let problem: Record<string, unknown> = {};
    try {
      problem = JSON.parse(text) as Record<string, unknown>;
    } catch {
      problem = { detail: text.slice(0, 500) };
    }
    throw new ApiProblem(
      res.status,
      String(problem.type ?? `/problems/http-${res.status}`),
      String(problem.detail ?? res.statusText),
      problem,
    );
  }

  async json<T = Record<string, unknown>>(method: string, path: string, body?: unknown): Promise<T> {
    const res = await this.request(method, path, body);
    return (res.status === 204 ? {} : await res.json()) as T;
  }
}
