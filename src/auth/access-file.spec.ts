import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from '../env';
import { loadAccessFile, parseAccessFile, scopesOf, usersFromEnv } from './access-file';
import { makeToken } from './token-codec';

// From docs/TOKENS.md, "Test vectors".
const DEMO_SECRET =
  'b710164f16543eacc1a81fc889667b52403c8a300dd8c50c69f55d3e0061b22ba7e9789b61a2fd932def15c74d6fcf387ce3270c6b96579a4dcfb4a7a722354e';
const DEMO_TOKEN =
  'eyJleHBpcmVzIjogMTAsICJzYWx0IjogImJjODIxOCIsICJpZGVudGl0eSI6ICJzdGF0c2JvYiJ9NyjnVy3QkN9pa2H_DVe4OZLi5dydu1mB3clN2HezjI8y331ZflOHSOtgvw8JjnjlC4UFF8q1LCp0kHdj96ipDw==';
const EXAMPLE_SECRET = '0123456789abcdef'.repeat(8);
const EXAMPLE_TOKEN =
  'eyJleHBpcmVzIjogMTAsICJzYWx0IjogImExYjJjMyIsICJpZGVudGl0eSI6ICJzdGF0c2JvYiJ9eEgkqiIDYAVIqo67lGh8dh7svzMWBOgtZSCe_LepYOJaoIgWrEIBMGY096xo8JRioAwVhcMiRs0Ek2tLcLqqng==';
const REORDERED_TOKEN =
  'eyJleHBpcmVzIjogMTAsICJpZGVudGl0eSI6ICJzdGF0c2JvYiIsICJzYWx0IjogImExYjJjMyJ95HOF4A4hyPBt7Op5FoxYvelPtQosohfSj081_oiMOTNHec25QPmlpLfUHcPnglFny5vNnPdxGhjjZETAsSRrOQ==';
const USER_ID = 'user_00ca4f6190b84f25827239233c4bcbaa';

let dir: string;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'access-file-'));
});

afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

function file(name: string, content: string): string {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
}

function accessJson(users: unknown): string {
  return file('access.json', JSON.stringify(users));
}

function demoUser(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    id: USER_ID,
    username: 'statsbob',
    name: 'Stats User',
    tokens: [{ access_token: DEMO_TOKEN, access_secret: DEMO_SECRET }],
    ...overrides,
  };
}

function configErrorOf(run: () => unknown): ConfigError {
  try {
    run();
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

/** The message, after checking that it leaks none of the secrets or tokens used here. */
function safeMessage(run: () => unknown): string {
  const { message } = configErrorOf(run);
  for (const secret of [DEMO_SECRET, DEMO_TOKEN, EXAMPLE_SECRET, EXAMPLE_TOKEN, REORDERED_TOKEN]) {
    expect(message).not.toContain(secret.slice(0, 12));
  }
  return message;
}

describe(loadAccessFile.name, () => {
  it('reads the contract example file', () => {
    expect(loadAccessFile(accessJson([demoUser()]))).toEqual([
      {
        id: USER_ID,
        username: 'statsbob',
        name: 'Stats User',
        tokens: [{ accessToken: DEMO_TOKEN, accessSecret: DEMO_SECRET }],
      },
    ]);
  });

  it('reads several users and tokens, with name optional or null, ignoring unknown keys', () => {
    const users = loadAccessFile(
      accessJson([
        demoUser({ name: undefined, comment: 'demo' }),
        {
          id: 'user_2',
          username: 'other',
          name: null,
          tokens: [
            { access_token: EXAMPLE_TOKEN, access_secret: EXAMPLE_SECRET },
            { access_token: REORDERED_TOKEN, access_secret: EXAMPLE_SECRET.toUpperCase() },
          ],
        },
      ]),
    );
    expect(users).toEqual([
      {
        id: USER_ID,
        username: 'statsbob',
        tokens: [{ accessToken: DEMO_TOKEN, accessSecret: DEMO_SECRET }],
      },
      {
        id: 'user_2',
        username: 'other',
        tokens: [
          { accessToken: EXAMPLE_TOKEN, accessSecret: EXAMPLE_SECRET },
          { accessToken: REORDERED_TOKEN, accessSecret: EXAMPLE_SECRET.toUpperCase() },
        ],
      },
    ]);
  });

  it('accepts a user without tokens', () => {
    expect(loadAccessFile(accessJson([demoUser({ tokens: [] })]))[0]?.tokens).toEqual([]);
  });

  it('refuses a missing file, naming it', () => {
    const path = join(dir, 'nowhere.json');
    expect(safeMessage(() => loadAccessFile(path))).toBe(`${path}: file not found`);
  });

  it('refuses a directory', () => {
    expect(safeMessage(() => loadAccessFile(dir))).toBe(`${dir}: cannot be read (EISDIR)`);
  });

  it('refuses invalid JSON without quoting it', () => {
    const path = file('access.json', `[{"access_secret": "${DEMO_SECRET}", }]`);
    expect(safeMessage(() => loadAccessFile(path))).toBe(`${path}: is not valid JSON`);
  });

  it.each([
    ['an object', { users: [] }, 'must be a JSON array of users'],
    ['null', null, 'must be a JSON array of users'],
    ['an empty array', [], 'lists no users'],
    ['a user that is a string', [demoUser(), 'statsbob'], '[1] must be an object'],
    ['a user that is an array', [[USER_ID]], '[0] must be an object'],
    ['a missing id', [demoUser({ id: undefined })], '[0].id must be a non-empty string'],
    ['an empty id', [demoUser({ id: '' })], '[0].id must be a non-empty string'],
    ['a numeric id', [demoUser({ id: 7 })], '[0].id must be a non-empty string'],
    [
      'a missing username',
      [demoUser({ username: undefined })],
      '[0].username must be a non-empty string',
    ],
    ['an empty username', [demoUser({ username: '' })], '[0].username must be a non-empty string'],
    ['a numeric name', [demoUser({ name: 1 })], '[0].name must be a string'],
    ['missing tokens', [demoUser({ tokens: undefined })], '[0].tokens must be an array'],
    ['tokens as an object', [demoUser({ tokens: {} })], '[0].tokens must be an array'],
    [
      'a token that is a string',
      [demoUser({ tokens: [DEMO_TOKEN] })],
      '[0].tokens[0] must be an object',
    ],
    [
      'a missing access_token',
      [demoUser({ tokens: [{ access_secret: DEMO_SECRET }] })],
      '[0].tokens[0].access_token must be a non-empty string',
    ],
    [
      'an empty access_token',
      [demoUser({ tokens: [{ access_token: '', access_secret: DEMO_SECRET }] })],
      '[0].tokens[0].access_token must be a non-empty string',
    ],
    [
      'a truncated access_token',
      [
        demoUser({
          tokens: [{ access_token: DEMO_TOKEN.slice(0, 80), access_secret: DEMO_SECRET }],
        }),
      ],
      '[0].tokens[0].access_token is not a token (too short)',
    ],
    [
      'an access_token with blanks',
      [demoUser({ tokens: [{ access_token: ` ${DEMO_TOKEN}`, access_secret: DEMO_SECRET }] })],
      '[0].tokens[0].access_token is not a token (not base64url)',
    ],
    [
      'a missing access_secret',
      [demoUser({ tokens: [{ access_token: DEMO_TOKEN }] })],
      '[0].tokens[0].access_secret must be a non-empty string',
    ],
    [
      'a numeric access_secret',
      [demoUser({ tokens: [{ access_token: DEMO_TOKEN, access_secret: 123 }] })],
      '[0].tokens[0].access_secret must be a non-empty string',
    ],
    [
      'a short access_secret',
      [demoUser({ tokens: [{ access_token: DEMO_TOKEN, access_secret: DEMO_SECRET.slice(1) }] })],
      '[0].tokens[0].access_secret must be 128 hexadecimal characters',
    ],
    [
      'an access_secret that is not hex, in a later token',
      [
        demoUser({
          tokens: [
            { access_token: EXAMPLE_TOKEN, access_secret: EXAMPLE_SECRET },
            { access_token: DEMO_TOKEN, access_secret: `${DEMO_SECRET.slice(1)}x` },
          ],
        }),
      ],
      '[0].tokens[1].access_secret must be 128 hexadecimal characters',
    ],
    [
      'a token listed for two users',
      [
        demoUser(),
        demoUser({
          id: 'user_2',
          username: 'other',
          tokens: [
            { access_token: EXAMPLE_TOKEN, access_secret: EXAMPLE_SECRET },
            { access_token: DEMO_TOKEN, access_secret: DEMO_SECRET },
          ],
        }),
      ],
      '[1].tokens[1].access_token repeats [0].tokens[0].access_token',
    ],
    [
      'a token listed twice for one user',
      [
        demoUser({
          tokens: [
            { access_token: DEMO_TOKEN, access_secret: DEMO_SECRET },
            { access_token: DEMO_TOKEN, access_secret: DEMO_SECRET },
          ],
        }),
      ],
      '[0].tokens[1].access_token repeats [0].tokens[0].access_token',
    ],
    [
      'a token listed once padded and once not',
      [
        demoUser(),
        demoUser({
          id: 'user_2',
          tokens: [{ access_token: DEMO_TOKEN.replace(/=+$/, ''), access_secret: DEMO_SECRET }],
        }),
      ],
      '[1].tokens[0].access_token repeats [0].tokens[0].access_token',
    ],
  ])('refuses %s, naming the file and the place', (_case, users, problem) => {
    const path = accessJson(users);
    expect(safeMessage(() => loadAccessFile(path))).toBe(`${path}: ${problem}`);
  });
});

describe('scopes', () => {
  const withScopes = (userScopes: unknown, tokenScopes?: unknown) =>
    accessJson([
      demoUser({
        ...(userScopes === undefined ? {} : { scopes: userScopes }),
        tokens: [
          {
            access_token: DEMO_TOKEN,
            access_secret: DEMO_SECRET,
            ...(tokenScopes === undefined ? {} : { scopes: tokenScopes }),
          },
        ],
      }),
    ]);

  it('reads scopes on a user and on a token', () => {
    const [user] = loadAccessFile(withScopes(['read', 'write'], ['write']));
    expect(user).toMatchObject({
      scopes: ['read', 'write'],
      tokens: [{ accessToken: DEMO_TOKEN, scopes: ['write'] }],
    });
  });

  it.each([
    ['neither', undefined, undefined, ['read', 'write']],
    ['the user only', ['write'], undefined, ['write']],
    ['the token only', undefined, ['read'], ['read']],
    ['both: the token narrows', ['read', 'write'], ['read'], ['read']],
  ])(
    "gives a token its own scopes, else its user's, else both: %s",
    (_case, user, token, expected) => {
      const [owner] = loadAccessFile(withScopes(user, token));
      expect(scopesOf(owner!, owner!.tokens[0]!)).toEqual(expected);
    },
  );

  it.each([
    ['an empty list', [], '[0].scopes must be a non-empty array of "read" and "write"'],
    ['a string', 'write', '[0].scopes must be a non-empty array of "read" and "write"'],
    [
      'an unknown scope',
      ['write', 'admin'],
      '[0].scopes must be a non-empty array of "read" and "write"; "admin" is not one',
    ],
    [
      'a scope that is not a word (not echoed)',
      ['write', DEMO_SECRET],
      '[0].scopes must be a non-empty array of "read" and "write"',
    ],
    ['a repeated scope', ['read', 'read'], '[0].scopes lists a scope twice'],
  ])('refuses %s on a user, naming the entry', (_case, scopes, problem) => {
    const path = withScopes(scopes);
    expect(safeMessage(() => loadAccessFile(path))).toBe(`${path}: ${problem}`);
  });

  it('refuses a bad scope on a token, naming the token entry', () => {
    const path = withScopes(undefined, ['delete']);
    expect(safeMessage(() => loadAccessFile(path))).toBe(
      `${path}: [0].tokens[0].scopes must be a non-empty array of "read" and "write"; "delete" is not one`,
    );
  });

  it('refuses a token that would do more than its user', () => {
    const path = withScopes(['write'], ['read', 'write']);
    expect(safeMessage(() => loadAccessFile(path))).toBe(
      `${path}: [0].tokens[0].scopes grants "read", which [0].scopes does not`,
    );
  });
});

describe(parseAccessFile.name, () => {
  it('checks a text as loadAccessFile checks a file, naming the path it is given', () => {
    expect(parseAccessFile(JSON.stringify([demoUser()]), 'new.json')).toHaveLength(1);
    expect(safeMessage(() => parseAccessFile('[]', 'new.json'))).toBe('new.json: lists no users');
  });
});

describe(usersFromEnv.name, () => {
  it('makes one user named by the demo token identity', () => {
    expect(usersFromEnv(DEMO_TOKEN, DEMO_SECRET)).toEqual([
      {
        id: 'statsbob',
        username: 'statsbob',
        tokens: [{ accessToken: DEMO_TOKEN, accessSecret: DEMO_SECRET }],
      },
    ]);
  });

  it('accepts a token without padding', () => {
    expect(usersFromEnv(EXAMPLE_TOKEN.replace(/=+$/, ''), EXAMPLE_SECRET)[0]?.username).toBe(
      'statsbob',
    );
  });

  it('refuses a token that does not decode, naming STATS_ACCESS_TOKEN', () => {
    expect(safeMessage(() => usersFromEnv('not a token', DEMO_SECRET))).toBe(
      'STATS_ACCESS_TOKEN is not a token (not base64url)',
    );
  });

  it('refuses a token signed with another secret', () => {
    expect(safeMessage(() => usersFromEnv(DEMO_TOKEN, EXAMPLE_SECRET))).toBe(
      'STATS_ACCESS_TOKEN is not signed with STATS_ACCESS_SECRET',
    );
  });

  it('refuses the original broken setup of the token as its own secret', () => {
    expect(safeMessage(() => usersFromEnv(DEMO_TOKEN, DEMO_TOKEN))).toBe(
      'STATS_ACCESS_TOKEN is not signed with STATS_ACCESS_SECRET',
    );
  });

  it('refuses a token with an empty identity', () => {
    const token = makeToken('', EXAMPLE_SECRET);
    expect(safeMessage(() => usersFromEnv(token, EXAMPLE_SECRET))).toBe(
      'STATS_ACCESS_TOKEN has an empty identity',
    );
  });
});
