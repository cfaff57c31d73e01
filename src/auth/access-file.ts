/**
 * The users allowed to post and read (docs/TOKENS.md, "access.json"): from `access.json`, or one
 * user from the environment. Every problem is a ConfigError that says where (the file and the
 * entry), never a token or a secret: at start-up it stops the service, on a reload the service
 * keeps its last good set.
 */
import { readFileSync } from 'node:fs';
import { ConfigError } from '../env';
import {
  ACCESS_SECRET_PATTERN,
  canonicalToken,
  decodeToken,
  signatureMatches,
  signingKey,
} from './token-codec';

/** What a token may do: `write` is POST (events, points), `read` is GET /log/event/{id}. */
export type Scope = 'read' | 'write';

export const SCOPES: readonly Scope[] = ['read', 'write'];

export interface AccessToken {
  readonly accessToken: string;
  readonly accessSecret: string;
  /** The token's own `scopes`; absent: its user's. */
  readonly scopes?: readonly Scope[];
}

export interface AccessUser {
  readonly id: string;
  readonly username: string;
  readonly name?: string;
  /** The user's `scopes`; absent: both, as the original (which had no scopes). */
  readonly scopes?: readonly Scope[];
  readonly tokens: readonly AccessToken[];
}

/** What a token may do: its own scopes, else its user's, else both. */
export function scopesOf(user: AccessUser, token: AccessToken): readonly Scope[] {
  return token.scopes ?? user.scopes ?? SCOPES;
}

export function loadAccessFile(path: string): AccessUser[] {
  const fail = (problem: string) => new ConfigError(`${path}: ${problem}`);
  return parseAccessFile(readText(path, fail), path);
}

/** The users of an access file's text; `path` only names the file in errors. */
export function parseAccessFile(text: string, path: string): AccessUser[] {
  const fail = (problem: string) => new ConfigError(`${path}: ${problem}`);
  const document = parseJson(text, fail);
  if (!Array.isArray(document)) throw fail('must be a JSON array of users');
  if (document.length === 0) throw fail('lists no users');

  const seen = new Map<string, string>();
  return document.map((entry: unknown, index): AccessUser => {
    const at = `[${index}]`;
    if (!isObject(entry)) throw fail(`${at} must be an object`);
    const id = nonEmptyString(entry, 'id', at, fail);
    const username = nonEmptyString(entry, 'username', at, fail);
    const { name, tokens } = entry;
    // Python writes an absent name as null.
    if (name !== undefined && name !== null && typeof name !== 'string') {
      throw fail(`${at}.name must be a string`);
    }
    if (!Array.isArray(tokens)) throw fail(`${at}.tokens must be an array`);
    const userScopes = scopesAt(entry, at, fail);
    return {
      id,
      username,
      ...(typeof name === 'string' ? { name } : {}),
      ...(userScopes === undefined ? {} : { scopes: userScopes }),
      tokens: tokens.map((token: unknown, tokenIndex): AccessToken => {
        const tokenAt = `${at}.tokens[${tokenIndex}]`;
        if (!isObject(token)) throw fail(`${tokenAt} must be an object`);
        const accessToken = nonEmptyString(token, 'access_token', tokenAt, fail);
        const accessSecret = nonEmptyString(token, 'access_secret', tokenAt, fail);
        const decoded = decodeToken(accessToken);
        // No request could ever match such a token: most likely a truncated copy and paste.
        if (!decoded.ok) throw fail(`${tokenAt}.access_token is not a token (${decoded.reason})`);
        if (!ACCESS_SECRET_PATTERN.test(accessSecret)) {
          throw fail(`${tokenAt}.access_secret must be 128 hexadecimal characters`);
        }
        const key = canonicalToken(accessToken);
        const first = seen.get(key);
        if (first !== undefined)
          throw fail(`${tokenAt}.access_token repeats ${first}.access_token`);
        seen.set(key, tokenAt);
        const tokenScopes = scopesAt(token, tokenAt, fail);
        // A token narrows what its user may do; it never widens it.
        const beyond = tokenScopes?.find((scope) => userScopes && !userScopes.includes(scope));
        if (beyond !== undefined) {
          throw fail(`${tokenAt}.scopes grants "${beyond}", which ${at}.scopes does not`);
        }
        return { accessToken, accessSecret, ...(tokenScopes ? { scopes: tokenScopes } : {}) };
      }),
    };
  });
}

/** The one user that STATS_ACCESS_TOKEN + STATS_ACCESS_SECRET define, named by the token. */
export function usersFromEnv(token: string, secret: string): AccessUser[] {
  const decoded = decodeToken(token);
  if (!decoded.ok) {
    throw new ConfigError(`STATS_ACCESS_TOKEN is not a token (${decoded.reason})`);
  }
  // The original service verified the token with itself as the secret, so its env user never
  // worked; a pair that does not match is refused here rather than at the first request.
  if (!signatureMatches(decoded, signingKey(secret))) {
    throw new ConfigError('STATS_ACCESS_TOKEN is not signed with STATS_ACCESS_SECRET');
  }
  const { identity } = decoded.payload;
  if (identity === '') throw new ConfigError('STATS_ACCESS_TOKEN has an empty identity');
  return [
    { id: identity, username: identity, tokens: [{ accessToken: token, accessSecret: secret }] },
  ];
}

type Fail = (problem: string) => ConfigError;

/** An entry's optional `scopes`: a non-empty list of distinct "read" and "write". */
function scopesAt(
  object: Record<string, unknown>,
  at: string,
  fail: Fail,
): readonly Scope[] | undefined {
  const { scopes } = object;
  if (scopes === undefined) return undefined;
  const rule = `${at}.scopes must be a non-empty array of "read" and "write"`;
  if (!Array.isArray(scopes) || scopes.length === 0) throw fail(rule);
  for (const scope of scopes) {
    // A scope is a word of our own, never a secret: it may be named.
    if (!SCOPES.includes(scope as Scope)) {
      throw fail(
        typeof scope === 'string' && /^[a-z]{1,16}$/.test(scope)
          ? `${rule}; "${scope}" is not one`
          : rule,
      );
    }
  }
  if (new Set(scopes).size !== scopes.length) throw fail(`${at}.scopes lists a scope twice`);
  return scopes as Scope[];
}

function readText(path: string, fail: Fail): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw fail('file not found');
    throw fail(`cannot be read (${code ?? 'unknown error'})`);
  }
}

function parseJson(text: string, fail: Fail): unknown {
  try {
    return JSON.parse(text);
  } catch {
    // JSON.parse's message quotes the input, which holds secrets.
    throw fail('is not valid JSON');
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function nonEmptyString(
  object: Record<string, unknown>,
  key: string,
  at: string,
  fail: Fail,
): string {
  const value = object[key];
  if (typeof value !== 'string' || value === '') {
    throw fail(`${at}.${key} must be a non-empty string`);
  }
  return value;
}
