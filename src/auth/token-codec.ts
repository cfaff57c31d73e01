/**
 * The token format of Mozilla's `tokenlib` as used by `apiaccesstoken` (docs/TOKENS.md), so that
 * tokens issued by the original service keep working byte for byte.
 */
import { createHmac, hkdfSync, randomBytes, timingSafeEqual } from 'node:crypto';

const HKDF_INFO = 'services.mozilla.com/tokenlib/v1/signing';
const SIGNATURE_BYTES = 64;
const LEGACY_NOW = 5;
const FIRST_UNIX_TIME = 1e9;

/** The `access_secret` format of `apiaccesstoken`: 64 random bytes written as hex. */
export const ACCESS_SECRET_PATTERN = /^[0-9a-fA-F]{128}$/;

export interface TokenPayload {
  readonly identity: string;
  readonly expires: number;
  readonly [key: string]: unknown;
}

export interface DecodedToken {
  readonly payloadBytes: Buffer;
  readonly signature: Buffer;
  readonly payload: TokenPayload;
}

export type DecodeResult = ({ readonly ok: true } & DecodedToken) | DecodeFailure;

export interface DecodeFailure {
  readonly ok: false;
  readonly reason: string;
}

export interface MakeTokenOptions {
  /** Unix time in seconds; omitted, the token never expires (`expires: 10`, like the original). */
  readonly expiresAt?: number;
  readonly salt?: string;
}

export function signingKey(secret: string): Buffer {
  // The hex string itself is the key material, not the bytes it spells: that is what
  // tokenlib does, and every existing token depends on it.
  return Buffer.from(
    hkdfSync('sha512', Buffer.from(secret, 'utf8'), Buffer.alloc(0), HKDF_INFO, 64),
  );
}

export function encodeToken(payloadJson: string, key: Buffer): string {
  const payloadBytes = Buffer.from(payloadJson, 'utf8');
  const encoded = Buffer.concat([payloadBytes, hmac(key, payloadBytes)]).toString('base64url');
  // Python's urlsafe_b64encode pads; Node's base64url does not.
  return encoded.padEnd(Math.ceil(encoded.length / 4) * 4, '=');
}

export function decodeToken(token: string): DecodeResult {
  const bytes = base64urlBytes(token);
  if (bytes === undefined) return failure('not base64url');
  if (bytes.length <= SIGNATURE_BYTES) return failure('too short');
  const payloadBytes = bytes.subarray(0, bytes.length - SIGNATURE_BYTES);
  const signature = bytes.subarray(bytes.length - SIGNATURE_BYTES);
  const payload = parseObject(payloadBytes);
  if (payload === undefined) return failure('payload is not a JSON object');
  const { identity, expires } = payload;
  if (typeof identity !== 'string') return failure('identity is not a string');
  if (typeof expires !== 'number' || !Number.isFinite(expires)) {
    return failure('expires is not a finite number');
  }
  return { ok: true, payloadBytes, signature, payload: { ...payload, identity, expires } };
}

export function signatureMatches(decoded: DecodedToken, key: Buffer): boolean {
  const expected = hmac(key, decoded.payloadBytes);
  return (
    decoded.signature.length === expected.length && timingSafeEqual(decoded.signature, expected)
  );
}

export function isExpired(expires: number, nowSeconds: number): boolean {
  // The original checked every token against a fixed "now" of 5 and always issued 10, so
  // small values keep that meaning; from 1e9 (2001) on, the value is a real Unix time.
  if (expires < FIRST_UNIX_TIME) return expires <= LEGACY_NOW;
  return expires <= nowSeconds;
}

export function makeToken(
  identity: string,
  secret: string,
  options: MakeTokenOptions = {},
): string {
  const { expiresAt, salt = randomBytes(3).toString('hex') } = options;
  if (
    expiresAt !== undefined &&
    !(Number.isSafeInteger(expiresAt) && expiresAt >= FIRST_UNIX_TIME)
  ) {
    // A smaller number would be read back with the legacy meaning: never expiring, or expired.
    throw new RangeError('expiresAt must be a whole Unix time in seconds, at least 1e9');
  }
  const payloadJson =
    `{"expires": ${expiresAt ?? 10}, "salt": ${pythonJson(salt)}, ` +
    `"identity": ${pythonJson(identity)}}`;
  return encodeToken(payloadJson, signingKey(secret));
}

/** The same token text, whether the client kept the `=` padding or not. */
export function canonicalToken(token: string): string {
  return token.replace(/=+$/, '');
}

function hmac(key: Buffer, data: Buffer): Buffer {
  return createHmac('sha512', key).update(data).digest();
}

function base64urlBytes(token: string): Buffer | undefined {
  // Buffer.from skips characters outside the alphabet; a token must not decode by accident.
  if (!/^[A-Za-z0-9_-]+={0,2}$/.test(token)) return undefined;
  const unpadded = canonicalToken(token);
  const padded = unpadded.length !== token.length;
  if (padded ? token.length % 4 !== 0 : unpadded.length % 4 === 1) return undefined;
  return Buffer.from(unpadded, 'base64url');
}

function parseObject(bytes: Buffer): Record<string, unknown> | undefined {
  let value: unknown;
  try {
    value = JSON.parse(bytes.toString('utf8'));
  } catch {
    return undefined;
  }
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : undefined;
}

/** JSON.stringify with Python's json.dumps default `ensure_ascii`, for identical bytes. */
function pythonJson(value: string): string {
  return JSON.stringify(value).replace(
    /[\u007f-\uffff]/g,
    (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}

function failure(reason: string): DecodeFailure {
  return { ok: false, reason };
}
