import {
  ACCESS_SECRET_PATTERN,
  canonicalToken,
  decodeToken,
  encodeToken,
  isExpired,
  makeToken,
  signatureMatches,
  signingKey,
} from './token-codec';

// Every constant below is copied from the token test vectors of docs/TOKENS.md, not computed by the code under test.
const DEMO_SECRET =
  'b710164f16543eacc1a81fc889667b52403c8a300dd8c50c69f55d3e0061b22ba7e9789b61a2fd932def15c74d6fcf387ce3270c6b96579a4dcfb4a7a722354e';
const DEMO_TOKEN =
  'eyJleHBpcmVzIjogMTAsICJzYWx0IjogImJjODIxOCIsICJpZGVudGl0eSI6ICJzdGF0c2JvYiJ9NyjnVy3QkN9pa2H_DVe4OZLi5dydu1mB3clN2HezjI8y331ZflOHSOtgvw8JjnjlC4UFF8q1LCp0kHdj96ipDw==';
const EXAMPLE_SECRET = '0123456789abcdef'.repeat(8);
const EXAMPLE_KEY_HEX =
  '4f14385ffc53ada7f167ece8b2f9330469aed2b3e2066d5cf7e6cbf00d7c95c43848dadb00e4dbc478bc10e77de9ad55614e4b63d5b7cac03603848cb0f2e6fa';
const EXAMPLE_PAYLOAD = '{"expires": 10, "salt": "a1b2c3", "identity": "statsbob"}';
const EXAMPLE_TOKEN =
  'eyJleHBpcmVzIjogMTAsICJzYWx0IjogImExYjJjMyIsICJpZGVudGl0eSI6ICJzdGF0c2JvYiJ9eEgkqiIDYAVIqo67lGh8dh7svzMWBOgtZSCe_LepYOJaoIgWrEIBMGY096xo8JRioAwVhcMiRs0Ek2tLcLqqng==';
const REORDERED_PAYLOAD = '{"expires": 10, "identity": "statsbob", "salt": "a1b2c3"}';
const REORDERED_TOKEN =
  'eyJleHBpcmVzIjogMTAsICJpZGVudGl0eSI6ICJzdGF0c2JvYiIsICJzYWx0IjogImExYjJjMyJ95HOF4A4hyPBt7Op5FoxYvelPtQosohfSj081_oiMOTNHec25QPmlpLfUHcPnglFny5vNnPdxGhjjZETAsSRrOQ==';

function decoded(token: string) {
  const result = decodeToken(token);
  if (!result.ok) throw new Error(`expected a decodable token, got: ${result.reason}`);
  return result;
}

/** Bytes → token text the way a client might build it, without going through encodeToken. */
function rawToken(bytes: Buffer): string {
  return bytes.toString('base64url');
}

describe('token codec', () => {
  describe(signingKey.name, () => {
    it('derives the worked example key from the hex string itself', () => {
      expect(signingKey(EXAMPLE_SECRET).toString('hex')).toBe(EXAMPLE_KEY_HEX);
    });

    it('returns a Buffer of 64 bytes', () => {
      const key = signingKey(EXAMPLE_SECRET);
      expect(Buffer.isBuffer(key)).toBe(true);
      expect(key).toHaveLength(64);
    });
  });

  describe(encodeToken.name, () => {
    it.each([
      ['expires, salt, identity', EXAMPLE_PAYLOAD, EXAMPLE_TOKEN],
      ['expires, identity, salt', REORDERED_PAYLOAD, REORDERED_TOKEN],
    ])('reproduces the contract token for key order %s', (_order, payload, token) => {
      expect(encodeToken(payload, Buffer.from(EXAMPLE_KEY_HEX, 'hex'))).toBe(token);
    });

    it.each([
      ['{"identity": "a", "expires": 10}', ''],
      ['{"identity": "a", "expires": 100}', '=='],
      ['{"identity": "a", "expires": 1000}', '='],
    ])('pads %s with %p', (payload, padding) => {
      const token = encodeToken(payload, signingKey(EXAMPLE_SECRET));
      expect(token.slice(token.search(/=*$/))).toBe(padding);
      expect(token.length % 4).toBe(0);
    });
  });

  describe(makeToken.name, () => {
    it('reproduces the worked example token given its salt', () => {
      expect(makeToken('statsbob', EXAMPLE_SECRET, { salt: 'a1b2c3' })).toBe(EXAMPLE_TOKEN);
    });

    it('writes the payload with Python json.dumps spacing and expires 10', () => {
      const token = decoded(makeToken('statsbob', EXAMPLE_SECRET, { salt: 'a1b2c3' }));
      expect(token.payloadBytes.toString('utf8')).toBe(EXAMPLE_PAYLOAD);
    });

    it('writes a real expiry when given one', () => {
      const token = decoded(
        makeToken('statsbob', EXAMPLE_SECRET, { salt: 'a1b2c3', expiresAt: 1700000000 }),
      );
      expect(token.payloadBytes.toString('utf8')).toBe(
        '{"expires": 1700000000, "salt": "a1b2c3", "identity": "statsbob"}',
      );
    });

    it.each([10, 999_999_999, 1.7e9 + 0.5, Number.NaN])(
      'refuses expiresAt %p, which would read back as something else',
      (expiresAt) => {
        expect(() => makeToken('statsbob', EXAMPLE_SECRET, { expiresAt })).toThrow(RangeError);
      },
    );

    it('escapes non-ASCII identities as Python does', () => {
      const token = decoded(makeToken('bjørn', EXAMPLE_SECRET, { salt: 'a1b2c3' }));
      expect(token.payloadBytes.toString('utf8')).toBe(
        '{"expires": 10, "salt": "a1b2c3", "identity": "bj\\u00f8rn"}',
      );
      expect(token.payload.identity).toBe('bjørn');
    });

    it('picks a fresh 6 hex character salt by default', () => {
      const first = decoded(makeToken('statsbob', EXAMPLE_SECRET)).payload.salt;
      const second = decoded(makeToken('statsbob', EXAMPLE_SECRET)).payload.salt;
      expect(first).toMatch(/^[0-9a-f]{6}$/);
      expect(second).toMatch(/^[0-9a-f]{6}$/);
      // 1 in 16.7 million of a false failure.
      expect(first).not.toBe(second);
    });

    it('makes tokens that verify with the same secret only', () => {
      const token = decoded(makeToken('statsbob', EXAMPLE_SECRET));
      expect(signatureMatches(token, signingKey(EXAMPLE_SECRET))).toBe(true);
      expect(signatureMatches(token, signingKey(DEMO_SECRET))).toBe(false);
    });
  });

  describe(decodeToken.name, () => {
    it('splits the worked example into its exact payload bytes and a 64 byte signature', () => {
      const token = decoded(EXAMPLE_TOKEN);
      expect(token.payloadBytes.toString('utf8')).toBe(EXAMPLE_PAYLOAD);
      expect(token.signature).toHaveLength(64);
      expect(token.payload).toEqual({ expires: 10, salt: 'a1b2c3', identity: 'statsbob' });
    });

    it('keeps the payload bytes of the other key order as they are', () => {
      expect(decoded(REORDERED_TOKEN).payloadBytes.toString('utf8')).toBe(REORDERED_PAYLOAD);
    });

    it('accepts a token whose = padding was dropped', () => {
      const unpadded = EXAMPLE_TOKEN.replace(/=+$/, '');
      expect(unpadded).not.toBe(EXAMPLE_TOKEN);
      const token = decoded(unpadded);
      expect(token.payloadBytes.toString('utf8')).toBe(EXAMPLE_PAYLOAD);
      expect(signatureMatches(token, signingKey(EXAMPLE_SECRET))).toBe(true);
    });

    it.each([
      ['empty', '', 'not base64url'],
      ['garbage', 'not a token!', 'not base64url'],
      ['standard base64 characters', EXAMPLE_TOKEN.replace('_', '/'), 'not base64url'],
      ['padding in the middle', `ab==${EXAMPLE_TOKEN}`, 'not base64url'],
      ['too much padding', `${EXAMPLE_TOKEN.replace(/=+$/, '')}===`, 'not base64url'],
      ['one = where two are due', `${EXAMPLE_TOKEN.replace(/=+$/, '')}=`, 'not base64url'],
      ['an impossible length', `${EXAMPLE_TOKEN.replace(/=+$/, '')}abc`, 'not base64url'],
      ['a signature alone', rawToken(Buffer.alloc(64, 1)), 'too short'],
      ['too short', 'eyJleHBpcmVzIjogMTB9', 'too short'],
      [
        'a non-JSON payload',
        rawToken(Buffer.concat([Buffer.from('expires=10'), Buffer.alloc(64)])),
        'payload is not a JSON object',
      ],
      [
        'a JSON array payload',
        rawToken(Buffer.concat([Buffer.from('[10, "statsbob"]'), Buffer.alloc(64)])),
        'payload is not a JSON object',
      ],
      [
        'a numeric identity',
        rawToken(Buffer.concat([Buffer.from('{"expires": 10, "identity": 7}'), Buffer.alloc(64)])),
        'identity is not a string',
      ],
      [
        'a missing identity',
        rawToken(Buffer.concat([Buffer.from('{"expires": 10}'), Buffer.alloc(64)])),
        'identity is not a string',
      ],
      [
        'a string expires',
        rawToken(
          Buffer.concat([Buffer.from('{"expires": "10", "identity": "a"}'), Buffer.alloc(64)]),
        ),
        'expires is not a finite number',
      ],
      [
        'a missing expires',
        rawToken(Buffer.concat([Buffer.from('{"identity": "a"}'), Buffer.alloc(64)])),
        'expires is not a finite number',
      ],
    ])('refuses %s', (_case, token, reason) => {
      expect(decodeToken(token)).toEqual({ ok: false, reason });
    });
  });

  describe(signatureMatches.name, () => {
    it('accepts the public demo pair', () => {
      expect(signatureMatches(decoded(DEMO_TOKEN), signingKey(DEMO_SECRET))).toBe(true);
    });

    it.each([
      ['the worked example', EXAMPLE_TOKEN],
      ['the other key order', REORDERED_TOKEN],
    ])('accepts %s with its secret', (_case, token) => {
      expect(signatureMatches(decoded(token), signingKey(EXAMPLE_SECRET))).toBe(true);
    });

    it('refuses a token under another secret', () => {
      expect(signatureMatches(decoded(EXAMPLE_TOKEN), signingKey(DEMO_SECRET))).toBe(false);
    });

    it('refuses a tampered signature', () => {
      const bytes = Buffer.from(EXAMPLE_TOKEN, 'base64url');
      bytes[bytes.length - 1] = (bytes[bytes.length - 1] ?? 0) ^ 1;
      expect(signatureMatches(decoded(rawToken(bytes)), signingKey(EXAMPLE_SECRET))).toBe(false);
    });

    it('refuses a tampered payload with the original signature', () => {
      const signature = decoded(EXAMPLE_TOKEN).signature;
      const forged = Buffer.concat([
        Buffer.from('{"expires": 10, "salt": "a1b2c3", "identity": "statsbot"}'),
        signature,
      ]);
      expect(signatureMatches(decoded(rawToken(forged)), signingKey(EXAMPLE_SECRET))).toBe(false);
    });

    it('refuses a payload that was re-serialised, since the signature covers exact bytes', () => {
      const reserialised = Buffer.concat([
        Buffer.from(JSON.stringify({ expires: 10, salt: 'a1b2c3', identity: 'statsbob' })),
        decoded(EXAMPLE_TOKEN).signature,
      ]);
      expect(signatureMatches(decoded(rawToken(reserialised)), signingKey(EXAMPLE_SECRET))).toBe(
        false,
      );
    });
  });

  describe(isExpired.name, () => {
    const now = 1_750_000_000;

    it.each([
      ['a legacy value of 5', 5, true],
      ['a legacy value of 0', 0, true],
      ['a negative value', -1, true],
      ['the legacy 10 the original always issued', 10, false],
      ['the largest legacy value', 1e9 - 1, false],
      ['a future Unix time', now + 60, false],
      ['a past Unix time', now - 60, true],
      ['exactly now', now, true],
    ])('says %s (%p) is expired: %p', (_case, expires, expected) => {
      expect(isExpired(expires, now)).toBe(expected);
    });
  });

  describe(canonicalToken.name, () => {
    it('makes a padded and an unpadded token equal', () => {
      expect(canonicalToken(EXAMPLE_TOKEN)).toBe(canonicalToken(EXAMPLE_TOKEN.replace(/=+$/, '')));
    });
  });

  describe('ACCESS_SECRET_PATTERN', () => {
    it.each([
      [DEMO_SECRET, true],
      [DEMO_SECRET.toUpperCase(), true],
      [DEMO_SECRET.slice(1), false],
      [`${DEMO_SECRET.slice(1)}g`, false],
      [`${DEMO_SECRET}\n`, false],
    ])('matches %p: %p', (secret, expected) => {
      expect(ACCESS_SECRET_PATTERN.test(secret)).toBe(expected);
    });
  });
});
