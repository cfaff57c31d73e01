/**
 * The one verification of a token against the users of an access file (docs/TOKENS.md): the
 * service's AccessService and the `verify` command of the CLI both ask a TokenSet, so that the
 * CLI says yes exactly when the service would. Pure: no Nest, no file, no clock of its own.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { scopesOf, type AccessUser, type Scope } from './access-file';
import {
  canonicalToken,
  decodeToken,
  isExpired,
  signatureMatches,
  signingKey,
} from './token-codec';

/** Tokens whose signature was checked, kept so that a repeat request skips the checks. */
const VERIFIED_CACHE_SIZE = 10_000;

export interface AuthenticatedUser {
  readonly id: string;
  readonly username: string;
}

/** Why a token is refused, with what each reader of it needs to say so. */
export type TokenFailure =
  | { readonly kind: 'malformed'; readonly detail: string }
  | { readonly kind: 'unknown' }
  | { readonly kind: 'bad-signature'; readonly user: AuthenticatedUser }
  | { readonly kind: 'identity'; readonly user: AuthenticatedUser }
  | { readonly kind: 'expired'; readonly expires: number };

export type Verification =
  | {
      readonly ok: true;
      readonly user: AuthenticatedUser;
      readonly scopes: ReadonlySet<Scope>;
      /** The payload's `expires` (legacy values below 1e9 included). */
      readonly expires: number;
    }
  | { readonly ok: false; readonly failure: TokenFailure };

interface ListedToken {
  readonly text: Buffer;
  readonly key: Buffer;
  readonly user: AuthenticatedUser;
  readonly scopes: ReadonlySet<Scope>;
}

export class TokenSet {
  /** By SHA-256 of the token, so that finding one takes the same time whatever its value. */
  private readonly tokens = new Map<string, ListedToken>();
  /**
   * Verified tokens, by their text exactly as sent, oldest first. Only a token that passed every
   * check gets in, so refused tokens cannot crowd it. A repeat request is answered from here
   * without decoding the token, hashing it or checking its signature: 2.3 µs a request before,
   * of the ~160 µs the main thread spends on a single event (docs/PERFORMANCE.md). Looking a text up compares it
   * only with a cached text of the same hash, and V8 seeds its string hashes per process, so
   * the lookup leaks nothing an attacker can steer toward a listed token; the listed tokens
   * themselves are found by their SHA-256 as before.
   */
  private readonly verified = new Map<string, VerifiedToken>();
  readonly userCount: number;

  constructor(users: readonly AccessUser[]) {
    for (const owner of users) {
      const user = { id: owner.id, username: owner.username };
      for (const token of owner.tokens) {
        const text = canonicalToken(token.accessToken);
        this.tokens.set(digest(text), {
          text: Buffer.from(text),
          key: signingKey(token.accessSecret),
          user,
          scopes: new Set(scopesOf(owner, token)),
        });
      }
    }
    this.userCount = users.length;
  }

  get tokenCount(): number {
    return this.tokens.size;
  }

  /**
   * A token must be listed (with or without its `=` padding), signed with the secret listed
   * beside it, name that user (username or id) as its identity, and not be expired at
   * `nowSeconds`.
   */
  verify(token: string, nowSeconds: number): Verification {
    const known = this.verified.get(token);
    if (known !== undefined) {
      return isExpired(known.expires, nowSeconds)
        ? refuse({ kind: 'expired', expires: known.expires })
        : known.verification;
    }
    const decoded = decodeToken(token);
    if (!decoded.ok) return refuse({ kind: 'malformed', detail: decoded.reason });
    const text = Buffer.from(canonicalToken(token));
    const id = digest(text);
    const listed = this.tokens.get(id);
    // The digest match already makes a false hit impossible in practice; the full comparison
    // keeps correctness from resting on that.
    if (listed === undefined || !sameBytes(listed.text, text)) return refuse({ kind: 'unknown' });
    const { user, scopes } = listed;
    if (!signatureMatches(decoded, listed.key)) return refuse({ kind: 'bad-signature', user });
    const { identity, expires } = decoded.payload;
    if (identity !== user.username && identity !== user.id) {
      return refuse({ kind: 'identity', user });
    }
    if (isExpired(expires, nowSeconds)) return refuse({ kind: 'expired', expires });
    const verification = { ok: true, user, scopes, expires } as const;
    this.remember(token, { expires, verification });
    return verification;
  }

  private remember(token: string, verified: VerifiedToken): void {
    if (this.verified.size >= VERIFIED_CACHE_SIZE) {
      const oldest = this.verified.keys().next();
      if (oldest.done !== true) this.verified.delete(oldest.value);
    }
    this.verified.set(token, verified);
  }
}

/** A token that passed every check: what to answer while it has not expired. */
interface VerifiedToken {
  readonly expires: number;
  readonly verification: Verification;
}

function refuse(failure: TokenFailure): Verification {
  return { ok: false, failure };
}

function digest(text: string | Buffer): string {
  return createHash('sha256').update(text).digest('hex');
}

function sameBytes(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}
