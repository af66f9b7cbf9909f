import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

export const SESSION_TOKEN_TTL_S = 300;

export interface SessionTokenClaims {
  sid: string;
  tid: string;
  exp: number;
}

/**
 * Short-lived tokens for end users: they open one session's media (WHEP, events) and nothing else, so an API
 * key never reaches a browser. HMAC-SHA256 with a key from LIKENESS_TOKEN_SECRET or, by default, a random key
 * kept in the data directory (survives restarts; set the variable when several API nodes share sessions).
 */
export class SessionTokens {
  private readonly key: Buffer;

  constructor(opts: { secret?: string | undefined; dataDir: string }) {
    if (opts.secret) {
      this.key = Buffer.from(opts.secret);
    } else {
      const file = path.join(opts.dataDir, 'secrets', 'session-token.key');
      if (fs.existsSync(file)) this.key = fs.readFileSync(file);
      else {
        fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
        this.key = randomBytes(32);
        fs.writeFileSync(file, this.key, { mode: 0o600 });
      }
    }
  }

  issue(
    sessionId: string,
    tenantId: string,
    ttlS = SESSION_TOKEN_TTL_S,
  ): { token: string; expires_at: string } {
    const exp = Math.floor(Date.now() / 1000) + ttlS;
    const payload = Buffer.from(JSON.stringify({ sid: sessionId, tid: tenantId, exp })).toString('base64url');
    return { token: `lst_${payload}.${this.sign(payload)}`, expires_at: new Date(exp * 1000).toISOString() };
  }

  verify(token: string): SessionTokenClaims | null {
    const m = /^lst_([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]+)$/.exec(token);
    if (!m) return null;
    const expected = Buffer.from(this.sign(m[1]!));
    const given = Buffer.from(m[2]!);
    if (expected.length !== given.length || !timingSafeEqual(expected, given)) return null;
    try {
      const claims = JSON.parse(Buffer.from(m[1]!, 'base64url').toString()) as SessionTokenClaims;
      return claims.exp * 1000 > Date.now() ? claims : null;
    } catch {
      return null;
    }
  }

  private sign(payload: string): string {
    return createHmac('sha256', this.key).update(payload).digest('base64url');
  }
}
