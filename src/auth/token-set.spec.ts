import type { AccessUser } from './access-file';
import { makeToken } from './token-codec';
import { TokenSet } from './token-set';

const SECRET = '0123456789abcdef'.repeat(8);
const OTHER_SECRET = 'fedcba9876543210'.repeat(8);
const NOW_S = 1_750_000_000;

const alice = { id: 'user_alice', username: 'alice' };
const ALICE_TOKEN = makeToken('alice', SECRET);
const ALICE_READ_TOKEN = makeToken('user_alice', SECRET);
const BOB_TOKEN = makeToken('bob', SECRET);

const USERS: AccessUser[] = [
  {
    ...alice,
    scopes: ['read', 'write'],
    tokens: [
      { accessToken: ALICE_TOKEN, accessSecret: SECRET },
      { accessToken: ALICE_READ_TOKEN, accessSecret: SECRET, scopes: ['read'] },
    ],
  },
  // A token that names alice, listed for carol: signed right, wrong user.
  {
    id: 'user_carol',
    username: 'carol',
    tokens: [{ accessToken: BOB_TOKEN, accessSecret: OTHER_SECRET }],
  },
];

describe(TokenSet.name, () => {
  const set = new TokenSet(USERS);

  it('counts users and tokens', () => {
    expect([set.userCount, set.tokenCount]).toEqual([2, 3]);
  });

  it("answers the user and the token's scopes", () => {
    expect(set.verify(ALICE_TOKEN, NOW_S)).toEqual({
      ok: true,
      user: alice,
      scopes: new Set(['read', 'write']),
      expires: 10,
    });
    expect(set.verify(ALICE_READ_TOKEN, NOW_S)).toMatchObject({
      ok: true,
      scopes: new Set(['read']),
    });
  });

  it.each([
    ['not a token', 'not a token!', { kind: 'malformed', detail: 'not base64url' }],
    ['a token nobody lists', makeToken('alice', OTHER_SECRET), { kind: 'unknown' }],
    [
      'a token its listed secret did not sign',
      BOB_TOKEN,
      { kind: 'bad-signature', user: { id: 'user_carol', username: 'carol' } },
    ],
  ])('refuses %s, saying why', (_case, token, failure) => {
    expect(set.verify(token, NOW_S)).toEqual({ ok: false, failure });
  });

  it("refuses a token whose identity is not its user's", () => {
    const token = makeToken('alice', OTHER_SECRET);
    const misfiled = new TokenSet([
      {
        id: 'user_carol',
        username: 'carol',
        tokens: [{ accessToken: token, accessSecret: OTHER_SECRET }],
      },
    ]);
    expect(misfiled.verify(token, NOW_S)).toEqual({
      ok: false,
      failure: { kind: 'identity', user: { id: 'user_carol', username: 'carol' } },
    });
  });

  it('refuses an expired token with its expiry, also once it was verified before', () => {
    const token = makeToken('alice', SECRET, { expiresAt: NOW_S + 60 });
    const expiring = new TokenSet([
      { ...alice, tokens: [{ accessToken: token, accessSecret: SECRET }] },
    ]);
    expect(expiring.verify(token, NOW_S)).toMatchObject({ ok: true, expires: NOW_S + 60 });
    expect(expiring.verify(token, NOW_S + 60)).toEqual({
      ok: false,
      failure: { kind: 'expired', expires: NOW_S + 60 },
    });
  });

  it('answers a repeat of a verified token as the first time, in either spelling', () => {
    const fresh = new TokenSet(USERS);
    const unpadded = ALICE_TOKEN.replace(/=+$/, '');
    expect(unpadded).not.toBe(ALICE_TOKEN);
    const first = [fresh.verify(ALICE_TOKEN, NOW_S), fresh.verify(unpadded, NOW_S)];
    const again = [fresh.verify(ALICE_TOKEN, NOW_S), fresh.verify(unpadded, NOW_S)];
    expect(again).toEqual(first);
    expect(first[0]).toMatchObject({ ok: true, user: alice });
  });

  it('refuses a token that differs from a verified one in its signature', () => {
    const fresh = new TokenSet(USERS);
    expect(fresh.verify(ALICE_TOKEN, NOW_S).ok).toBe(true);
    // The same payload, the last signature character changed: not the listed token.
    const last = ALICE_TOKEN.replace(/=+$/, '').slice(-1);
    const forged = ALICE_TOKEN.replace(/.(=*)$/, `${last === 'A' ? 'B' : 'A'}$1`);
    expect(forged).not.toBe(ALICE_TOKEN);
    expect(fresh.verify(forged, NOW_S)).toEqual({ ok: false, failure: { kind: 'unknown' } });
  });
});
