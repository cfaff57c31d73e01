import { accessSync, constants, mkdirSync, statSync } from 'node:fs';
import { ConfigError } from '../env';

/**
 * Creates SPOOL_DIR if needed and checks that it is a directory this process can write, so
 * that a wrong setting stops start-up with one line naming the variable (not a bare EEXIST or
 * EACCES from the first file operation). The path itself is not quoted: it comes from the
 * environment, whose values are never echoed.
 */
export function ensureSpoolDir(dir: string): void {
  try {
    mkdirSync(dir, { recursive: true });
    if (!statSync(dir).isDirectory()) throw Object.assign(new Error(), { code: 'ENOTDIR' });
    accessSync(dir, constants.W_OK | constants.X_OK);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why = code === 'EEXIST' || code === 'ENOTDIR' ? 'it names a file' : code;
    throw new ConfigError(
      `SPOOL_DIR must name a directory this user can create and write (${why ?? 'unknown error'})`,
    );
  }
}
