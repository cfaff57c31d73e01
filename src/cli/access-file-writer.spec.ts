import {
  chmodSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadAccessFile } from '../auth/access-file';
import { makeToken } from '../auth/token-codec';
import {
  AccessChangeError,
  addToken,
  appendUser,
  replaceTokens,
  revokeToken,
  writeFileAtomic,
} from './access-file-writer';

const SECRET = '0123456789abcdef'.repeat(8);

function entry(username: string, id = `user_${username}`) {
  return {
    id,
    username,
    tokens: [{ access_token: makeToken(username, SECRET), access_secret: SECRET }],
  };
}

describe('access file writer', () => {
  let dir: string;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'stats-access-'));
  });

  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  describe(writeFileAtomic.name, () => {
    it('creates the file with the mode given, leaving no temporary file', () => {
      const file = join(dir, 'access.json');
      writeFileAtomic(file, 'one', 0o600);
      expect(readFileSync(file, 'utf8')).toBe('one');
      expect(statSync(file).mode & 0o777).toBe(0o600);
      expect(readdirSync(dir)).toEqual(['access.json']);
    });

    it('replaces an existing file whole', () => {
      const file = join(dir, 'access.json');
      writeFileSync(file, 'a much longer old content');
      writeFileAtomic(file, 'new', 0o640);
      expect(readFileSync(file, 'utf8')).toBe('new');
      expect(statSync(file).mode & 0o777).toBe(0o640);
    });

    it('leaves the target untouched and removes its temporary file when the rename fails', () => {
      const target = join(dir, 'access.json');
      mkdirSync(target);
      writeFileSync(join(target, 'inside'), 'kept');
      expect(() => writeFileAtomic(target, 'new', 0o600)).toThrow(/EISDIR|ENOTEMPTY|EEXIST/);
      expect(readdirSync(dir)).toEqual(['access.json']);
      expect(readFileSync(join(target, 'inside'), 'utf8')).toBe('kept');
    });
  });

  describe(appendUser.name, () => {
    it('creates a missing file, owner-readable only', () => {
      const file = join(dir, 'access.json');
      appendUser(file, entry('alice'));
      expect(loadAccessFile(file).map((user) => user.username)).toEqual(['alice']);
      expect(statSync(file).mode & 0o777).toBe(0o600);
    });

    it('starts from an empty list', () => {
      const file = join(dir, 'access.json');
      writeFileSync(file, '[]\n');
      appendUser(file, entry('alice'));
      expect(loadAccessFile(file)).toHaveLength(1);
    });

    it('appends after the users already there and keeps the file mode', () => {
      const file = join(dir, 'access.json');
      appendUser(file, entry('alice'));
      chmodSync(file, 0o640);
      appendUser(file, entry('bob'));
      expect(loadAccessFile(file).map((user) => user.username)).toEqual(['alice', 'bob']);
      expect(statSync(file).mode & 0o777).toBe(0o640);
      expect(readFileSync(file, 'utf8')).toMatch(/^\[\n {2}\{\n {4}"id": "user_alice",[^]*\]\n$/);
    });

    it('replaces the file a symbolic link points to, not the link', () => {
      const real = join(dir, 'real.json');
      const link = join(dir, 'access.json');
      appendUser(real, entry('alice'));
      symlinkSync(real, link);
      appendUser(link, entry('bob'));
      expect(loadAccessFile(real)).toHaveLength(2);
      expect(readFileSync(link, 'utf8')).toBe(readFileSync(real, 'utf8'));
    });

    it.each([
      ['a username', entry('alice', 'user_other')],
      ['an id as username', entry('user_alice', 'user_other')],
    ])('refuses %s already taken', (_what, duplicate) => {
      const file = join(dir, 'access.json');
      appendUser(file, entry('alice'));
      const before = readFileSync(file, 'utf8');
      expect(() => appendUser(file, duplicate)).toThrow(AccessChangeError);
      expect(readFileSync(file, 'utf8')).toBe(before);
    });
  });

  describe('changes to the tokens of a user', () => {
    const token = (identity: string, secret = SECRET) => ({
      access_token: makeToken(identity, secret),
      access_secret: secret,
    });

    it('adds, replaces and revokes, keeping unknown keys of the entry', () => {
      const file = join(dir, 'access.json');
      appendUser(file, { ...entry('alice'), note: 'kept' } as ReturnType<typeof entry>);
      const second = token('alice');
      addToken(file, 'user_alice', second);
      expect(loadAccessFile(file)[0]!.tokens).toHaveLength(2);

      const user = revokeToken(file, second.access_token.replace(/=+$/, ''));
      expect(user.username).toBe('alice');
      expect(loadAccessFile(file)[0]!.tokens).toHaveLength(1);

      const third = token('alice');
      expect(replaceTokens(file, 'alice', third)).toBe(1);
      expect(loadAccessFile(file)[0]!.tokens.map((t) => t.accessToken)).toEqual([
        third.access_token,
      ]);
      expect((JSON.parse(readFileSync(file, 'utf8')) as { note?: string }[])[0]?.note).toBe('kept');
    });

    it('writes nothing the service would refuse to re-read', () => {
      const file = join(dir, 'access.json');
      appendUser(file, entry('alice'));
      const before = readFileSync(file, 'utf8');
      const duplicate = loadAccessFile(file)[0]!.tokens[0]!;
      expect(() =>
        addToken(file, 'alice', {
          access_token: duplicate.accessToken,
          access_secret: duplicate.accessSecret,
        }),
      ).toThrow(/\[0\]\.tokens\[1\]\.access_token repeats \[0\]\.tokens\[0\]\.access_token/);
      expect(readFileSync(file, 'utf8')).toBe(before);
    });

    it('refuses a user or a token that is not there', () => {
      const file = join(dir, 'access.json');
      appendUser(file, entry('alice'));
      expect(() => addToken(file, 'bob', token('bob'))).toThrow(
        new AccessChangeError(`${file}: no user bob`),
      );
      expect(() => revokeToken(file, token('alice').access_token)).toThrow(
        new AccessChangeError(`${file}: that token is not listed`),
      );
    });

    it('makes the missing folders of a new file, owner-only', () => {
      const file = join(dir, 'secrets', 'access.json');
      appendUser(file, entry('alice'));
      expect(statSync(join(dir, 'secrets')).mode & 0o777).toBe(0o700);
      expect(loadAccessFile(file)).toHaveLength(1);
    });
  });
});
