import { Inject, Injectable, Logger } from '@nestjs/common';
import { createHash, timingSafeEqual } from 'node:crypto';
import { ConfigError } from '../env';
import { loadAccessFile, usersFromEnv } from './access-file';
import { authConfig, type AuthConfig } from './auth.config';
import {
  canonicalToken,
  decodeToken,
  isExpired,
  signatureMatches,
  signingKey,
} from './token-codec';

/** The demo pair of the original project is public (docs/TOKENS.md, "Test vectors"): fine locally, never in production. */
const PUBLIC_DEMO_SECRET =
  'b710164f16543eacc1a81fc889667b52403c8a300dd8c50c69f55d3e0061b22ba7e9789b61a2fd932def15c74d6fcf387ce3270c6b96579a4dcfb4a7a722354e';

const VERIFIED_CACHE_SIZE = 10_000;

export interface AuthenticatedUser {
  readonly id: string;
  readonly username: string;
}

export type AuthResult =
  | { readonly ok: true; readonly user: AuthenticatedUser }
  | { readonly ok: false; readonly reason: string };

interface ListedToken {
  readonly text: Buffer;
  readonly key: Buffer;
  readonly user: AuthenticatedUser;
}

@Injectable()
export class AccessService {
  /** By SHA-256 of the token, so that finding one takes the same time whatever its value. */
  private readonly tokens = new Map<string, ListedToken>();
  /** Verified tokens and their `expires`, oldest first, so repeat requests skip the HMAC. */
  private readonly verified = new Map<string, number>();
  readonly userCount: number;

  constructor(@Inject(authConfig.KEY) config: AuthConfig) {
    const users =
      config.envToken !== undefined && config.envSecret !== undefined
        ? usersFromEnv(config.envToken, config.envSecret)
        : loadAccessFile(config.accessJsonPath);
    if (
      config.production &&
      users.some((user) => user.tokens.some((t) => t.accessSecret === PUBLIC_DEMO_SECRET))
    ) {
      throw new ConfigError(
        'the public demo access secret is configured (ACCESS_JSON or STATS_ACCESS_SECRET) and NODE_ENV is production; replace it',
      );
    }
    for (const owner of users) {
      const user = { id: owner.id, username: owner.username };
      for (const { accessToken, accessSecret } of owner.tokens) {
        const text = canonicalToken(accessToken);
        this.tokens.set(digest(text), {
          text: Buffer.from(text),
          key: signingKey(accessSecret),
          user,
        });
      }
    }
    this.userCount = users.length;
    new Logger(AccessService.name).log(`${this.userCount} user(s), ${this.tokens.size} token(s)`);
  }

  authenticate(token: string): AuthResult {
    const decoded = decodeToken(token);
    if (!decoded.ok) return refuse('malformed token');
    const text = Buffer.from(canonicalToken(token));
    const id = digest(text);
    const listed = this.tokens.get(id);
    // The digest match already makes a false hit impossible in practice; the full comparison
    // keeps correctness from resting on that.
    if (listed === undefined || !sameBytes(listed.text, text)) return refuse('unknown token');

    const nowSeconds = Date.now() / 1000;
    const expires = this.verified.get(id);
    if (expires !== undefined) {
      return isExpired(expires, nowSeconds)
        ? refuse('token expired')
        : { ok: true, user: listed.user };
    }

    if (!signatureMatches(decoded, listed.key)) return refuse('bad signature');
    const { identity } = decoded.payload;
    if (identity !== listed.user.username && identity !== listed.user.id) {
      return refuse('token identity does not match its user');
    }
    if (isExpired(decoded.payload.expires, nowSeconds)) return refuse('token expired');
    this.remember(id, decoded.payload.expires);
    return { ok: true, user: listed.user };
  }

  private remember(id: string, expires: number): void {
    if (this.verified.size >= VERIFIED_CACHE_SIZE) {
      const oldest = this.verified.keys().next();
      if (oldest.done !== true) this.verified.delete(oldest.value);
    }
    this.verified.set(id, expires);
  }
}

function digest(text: string | Buffer): string {
  return createHash('sha256').update(text).digest('hex');
}

function sameBytes(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

function refuse(reason: string): AuthResult {
  return { ok: false, reason };
}
