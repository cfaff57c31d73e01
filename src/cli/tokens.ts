/**
 * Secrets, user ids and tokens as `access.json` holds them, made and checked with the service's
 * own token codec and verification, so that the service, and the original Python library, accept
 * them.
 */
import { randomBytes } from 'node:crypto';
import type { AccessUser } from '../auth/access-file';
import { makeToken } from '../auth/token-codec';
import {
  TokenSet,
  type TokenFailure,
  type Verification as TokenSetVerification,
} from '../auth/token-set';

/** A new `access_secret`: 64 random bytes as hex, the format of `apiaccesstoken`. */
export function newSecret(): string {
  return randomBytes(64).toString('hex');
}

/** A new user id in the format of the original (`user_` and a uuid4 without dashes). */
export function newUserId(): string {
  return `user_${randomBytes(16).toString('hex')}`;
}

/**
 * A token for `identity` signed with `secret`; `expiresInSeconds` from `nowMs` on, or, without
 * it, never expiring (`"expires": 10`, as the original issued every token).
 */
export function issueToken(
  identity: string,
  secret: string,
  expiresInSeconds: number | undefined,
  nowMs: number,
): string {
  const expiresAt =
    expiresInSeconds === undefined ? undefined : Math.floor(nowMs / 1000) + expiresInSeconds;
  return makeToken(identity, secret, expiresAt === undefined ? {} : { expiresAt });
}

/** The service's verification, its failure said in words for the terminal. */
export type Verification =
  Extract<TokenSetVerification, { ok: true }> | { readonly ok: false; readonly reason: string };

/**
 * Whether the service would accept `token` with these users: the service's own check (TokenSet),
 * each failure told in an operator's words.
 */
export function verifyToken(
  users: readonly AccessUser[],
  token: string,
  nowMs: number,
): Verification {
  const result = new TokenSet(users).verify(token, nowMs / 1000);
  return result.ok ? result : { ok: false, reason: explain(result.failure) };
}

function explain(failure: TokenFailure): string {
  switch (failure.kind) {
    case 'malformed':
      return `not a token (${failure.detail})`;
    case 'unknown':
      return 'not listed in the file';
    case 'bad-signature':
      return 'bad signature: not signed with the secret listed beside it';
    case 'identity':
      return `its identity is neither the username nor the id of its user ${failure.user.username}`;
    case 'expired':
      return `expired ${describeExpiry(failure.expires)}`;
  }
}

export function describeExpiry(expires: number): string {
  if (expires < 1e9) return expires <= 5 ? '(legacy expires value <= 5)' : 'never';
  return `at ${new Date(expires * 1000).toISOString()}`;
}
