/**
 * Changes to an `access.json` (docs/TOKENS.md, "access.json") made so that the service, which
 * re-reads the file while it runs, never reads half of one: the new content is checked as the
 * service checks it, goes to a temporary file in the same directory, is flushed to disk, and
 * replaces the old file by rename, which is atomic on one file system.
 */
import { randomBytes } from 'node:crypto';
import {
  closeSync,
  fchmodSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readFileSync,
  realpathSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { parseAccessFile, type AccessUser, type Scope } from '../auth/access-file';
import { canonicalToken } from '../auth/token-codec';
import { ConfigError } from '../env';

/** Access files hold secrets: a new one is readable by its owner only, and so is a new folder. */
const NEW_FILE_MODE = 0o600;
const NEW_DIRECTORY_MODE = 0o700;

/** One token entry as `access.json` stores it. */
export interface TokenEntry {
  readonly access_token: string;
  readonly access_secret: string;
  readonly scopes?: readonly Scope[];
}

/** One user entry as `access.json` stores it. */
export interface AccessEntry {
  readonly id: string;
  readonly username: string;
  readonly name?: string;
  readonly tokens: readonly TokenEntry[];
}

/** A change the file refuses (a user that exists or does not, a token not listed); nothing was written. */
export class AccessChangeError extends Error {
  override readonly name = 'AccessChangeError';
}

/**
 * Appends `entry` to the access file at `path`, creating the file when it is missing. The
 * existing entries are checked as the service checks them and written back as they were
 * (unknown keys included, only the indentation may change). A username that is already
 * someone's username or id is refused: a token's identity may name either, so both must be
 * unique.
 */
export function appendUser(path: string, entry: AccessEntry): void {
  const current = readAccessFile(path);
  const taken = current.users.some((user) =>
    [user.username, user.id].some((name) => name === entry.username || name === entry.id),
  );
  if (taken) throw new AccessChangeError(`${path}: user ${entry.username} already exists`);
  write(path, current, [...current.raw, entry]);
}

/** Adds `token` to the user whose username or id is `user` (the first step of a rotation). */
export function addToken(path: string, user: string, token: TokenEntry): void {
  const current = readAccessFile(path);
  const index = userIndex(path, current, user);
  write(
    path,
    current,
    current.raw.map((raw, i) => (i === index ? { ...raw, tokens: [...raw.tokens, token] } : raw)),
  );
}

/**
 * Replaces every token of the user whose username or id is `user` with `token`. Returns how many
 * tokens were removed.
 */
export function replaceTokens(path: string, user: string, token: TokenEntry): number {
  const current = readAccessFile(path);
  const index = userIndex(path, current, user);
  write(
    path,
    current,
    current.raw.map((raw, i) => (i === index ? { ...raw, tokens: [token] } : raw)),
  );
  return current.raw[index]!.tokens.length;
}

/**
 * Removes `token` (with or without its `=` padding) from whichever user lists it. Returns that
 * user. The service refuses the token once it has re-read the file.
 */
export function revokeToken(path: string, token: string): AccessUser {
  const current = readAccessFile(path);
  const text = canonicalToken(token);
  const index = current.users.findIndex((user) =>
    user.tokens.some((t) => canonicalToken(t.accessToken) === text),
  );
  // Neither the token nor any part of it is echoed.
  if (index < 0) throw new AccessChangeError(`${path}: that token is not listed`);
  write(
    path,
    current,
    current.raw.map((raw, i) =>
      i === index
        ? {
            ...raw,
            tokens: raw.tokens.filter(
              (t) => !(isObject(t) && canonicalToken(String(t.access_token)) === text),
            ),
          }
        : raw,
    ),
  );
  return current.users[index]!;
}

/** Replaces (or creates) `path` with `text` so that a reader sees either all or none of it. */
export function writeFileAtomic(path: string, text: string, mode: number): void {
  const directory = dirname(path);
  const temporary = join(directory, `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
  const fd = openSync(temporary, 'wx', mode);
  let open = true;
  try {
    // The mode given to open is narrowed by the umask; the file keeps exactly the mode it had.
    fchmodSync(fd, mode);
    writeFileSync(fd, text);
    fsyncSync(fd);
    closeSync(fd);
    open = false;
    renameSync(temporary, path);
  } catch (error) {
    if (open) closeSync(fd);
    rmSync(temporary, { force: true });
    throw error;
  }
  syncDirectory(directory);
}

/** A user entry exactly as parsed (unknown keys included), to be written back unchanged. */
type RawEntry = Record<string, unknown> & { readonly tokens: readonly unknown[] };

interface CurrentFile {
  readonly exists: boolean;
  readonly raw: readonly RawEntry[];
  /** The same entries as the service reads them, in the same order. */
  readonly users: readonly AccessUser[];
}

function userIndex(path: string, current: CurrentFile, user: string): number {
  const index = current.users.findIndex((u) => u.username === user || u.id === user);
  if (index < 0) throw new AccessChangeError(`${path}: no user ${user}`);
  return index;
}

/**
 * Writes `entries` over the file of `current` once the service would accept them: a change
 * never leaves a file the running service would refuse to re-read.
 */
function write(path: string, current: CurrentFile, entries: readonly unknown[]): void {
  const text = `${JSON.stringify(entries, null, 2)}\n`;
  parseAccessFile(text, path);
  if (!current.exists) mkdirSync(dirname(path), { recursive: true, mode: NEW_DIRECTORY_MODE });
  // Through a symbolic link, the file it points to is the one replaced.
  const target = current.exists ? realpathSync(path) : path;
  const mode = current.exists ? statSync(target).mode & 0o777 : NEW_FILE_MODE;
  writeFileAtomic(target, text, mode);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function readAccessFile(path: string): CurrentFile {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    // A missing file (or folder) is where a new one starts.
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      return { exists: false, raw: [], users: [] };
    }
    throw error;
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    // JSON.parse's message quotes the input, which holds secrets.
    throw new ConfigError(`${path}: is not valid JSON`);
  }
  if (!Array.isArray(raw)) throw new ConfigError(`${path}: must be a JSON array of users`);
  // An empty list is where a new file starts; the service (rightly) refuses it.
  const users = raw.length === 0 ? [] : parseAccessFile(text, path);
  return { exists: true, raw: raw as RawEntry[], users };
}

function syncDirectory(directory: string): void {
  // Makes the rename itself durable. Some file systems cannot fsync a directory; the new file
  // is complete either way.
  let fd: number | undefined;
  try {
    fd = openSync(directory, 'r');
    fsyncSync(fd);
  } catch {
    return;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}
