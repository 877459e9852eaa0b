// Access token, sessions and CSRF tokens. The token is compared in constant time (through
// SHA-256 digests, so lengths do not leak); a session is a random id in an HttpOnly,
// SameSite=Strict cookie with its own CSRF token that every write must echo in a header.
// Internal.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

export const SESSION_COOKIE = 'outpost_console';

interface Session {
  readonly csrf: string;
  readonly expires: number;
}

export function randomToken(bytes = 24): string {
  return randomBytes(bytes).toString('base64url');
}

function digest(s: string): Buffer {
  return createHash('sha256').update(s, 'utf8').digest();
}

/** Same text, compared in constant time. */
export function sameSecret(a: string, b: string): boolean {
  return timingSafeEqual(digest(a), digest(b));
}

/** The cookie header's value of `name`, or undefined. */
export function cookie(header: string | undefined, name: string): string | undefined {
  if (header === undefined) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

export class Sessions {
  readonly #sessions = new Map<string, Session>();
  constructor(
    private readonly token: string,
    private readonly ttlMs: number,
    private readonly max: number,
    private readonly now: () => number,
  ) {}

  /** A new session for the right token; undefined for a wrong one. */
  login(token: string): { id: string; csrf: string } | undefined {
    if (!sameSecret(token, this.token)) return undefined;
    const now = this.now();
    for (const [id, s] of this.#sessions) if (s.expires <= now) this.#sessions.delete(id);
    // The oldest session goes first when too many are open (a Map keeps insertion order).
    while (this.#sessions.size >= this.max) this.#sessions.delete(this.#sessions.keys().next().value as string);
    const id = randomToken(32);
    const csrf = randomToken(24);
    this.#sessions.set(id, { csrf, expires: now + this.ttlMs });
    return { id, csrf };
  }

  /** The session of a cookie header, if any and not expired. */
  get(cookieHeader: string | undefined): (Session & { id: string }) | undefined {
    const id = cookie(cookieHeader, SESSION_COOKIE);
    if (id === undefined) return undefined;
    const s = this.#sessions.get(id);
    if (s === undefined) return undefined;
    if (s.expires <= this.now()) {
      this.#sessions.delete(id);
      return undefined;
    }
    return { ...s, id };
  }

  /** Whether session `id` is open and not expired. */
  has(id: string): boolean {
    const s = this.#sessions.get(id);
    return s !== undefined && s.expires > this.now();
  }

  logout(id: string): void {
    this.#sessions.delete(id);
  }

  get size(): number {
    return this.#sessions.size;
  }
}
