/**
 * Changes to an `access.json` (docs/TOKENS.md, "access.json") made so that the service never reads half a file:
 * the new content goes to a temporary file in the same directory, is flushed to disk, and
 * replaces the old file by rename, which is atomic on one file system.
 */
import { randomBytes } from 'node:crypto';
import {
  closeSync,
  fchmodSync,
  fsyncSync,
  openSync,
  readFileSync,
  realpathSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { loadAccessFile, type AccessUser } from '../auth/access-file';
import { ConfigError } from '../env';

/** Access files hold secrets: a new one is readable by its owner only. */
const NEW_FILE_MODE = 0o600;

/** One user entry as `access.json` stores it. */
export interface AccessEntry {
  readonly id: string;
  readonly username: string;
  readonly name?: string;
  readonly tokens: readonly { readonly access_token: string; readonly access_secret: string }[];
}

export class DuplicateUserError extends Error {
  override readonly name = 'DuplicateUserError';
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
  if (taken) throw new DuplicateUserError(`${path}: user ${entry.username} already exists`);
  // Through a symbolic link, the file it points to is the one replaced.
  const target = current.exists ? realpathSync(path) : path;
  const mode = current.exists ? statSync(target).mode & 0o777 : NEW_FILE_MODE;
  writeFileAtomic(target, `${JSON.stringify([...current.raw, entry], null, 2)}\n`, mode);
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

interface CurrentFile {
  readonly exists: boolean;
  /** The entries exactly as parsed, to be written back unchanged. */
  readonly raw: readonly unknown[];
  readonly users: readonly AccessUser[];
}

function readAccessFile(path: string): CurrentFile {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
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
  // An empty list is where a new file starts; loadAccessFile (rightly) refuses it to the service.
  const users = raw.length === 0 ? [] : loadAccessFile(path);
  return { exists: true, raw, users };
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
