/**
 * What every command of `stats-service-token` shares: its exit statuses, its input and output,
 * and the reading of its command line (options, names, durations, scopes), where a wrong command
 * line becomes a UsageError that never echoes a value (it may be a secret).
 */
import { parseArgs } from 'node:util';
import { SCOPES, type Scope } from '../auth/access-file';

export const EXIT_OK = 0;
/** The command ran and said no: a token that does not verify, a user that exists, a bad file. */
export const EXIT_FAILED = 1;
/** The command line is wrong (or empty): nothing was done. `--help` exits 0 (EXIT_OK). */
export const EXIT_USAGE = 2;

export interface CliIo {
  stdout(text: string): void;
  stderr(text: string): void;
  /** All of standard input, for an argument given as "-". */
  readStdin(): string;
  /** Milliseconds since the epoch. */
  now(): number;
}

const UNIT_SECONDS = { d: 86_400, h: 3_600, m: 60, s: 1 } as const;

/** `90d`, `12h`, `30m`, `3600s` → seconds. */
export function parseDuration(text: string): number {
  const match = /^(\d{1,9})([dhms])$/.exec(text);
  if (match === null) {
    throw new UsageError('--expires-in must be a whole number followed by d, h, m or s (e.g. 90d)');
  }
  const seconds = Number(match[1]) * UNIT_SECONDS[match[2] as keyof typeof UNIT_SECONDS];
  if (seconds === 0) throw new UsageError('--expires-in must be more than 0');
  return seconds;
}

/** `write`, `read`, `read,write` → the scopes, checked. */
export function parseScopes(text: string): Scope[] {
  const scopes = text.split(',').map((scope) => scope.trim());
  if (scopes.some((scope) => !SCOPES.includes(scope as Scope))) {
    throw new UsageError('--scopes must be "write", "read" or "read,write"');
  }
  return [...new Set(scopes as Scope[])];
}

/** A command line that cannot be run; its message is shown with the usage. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** `--help`, `-h` or `help`, before or after a command. */
export class HelpRequest extends Error {
  override readonly name = 'HelpRequest';
}

export type Options = Record<string, { type: 'string' | 'boolean' }>;

export interface Parsed {
  readonly values: Readonly<Record<string, string | boolean | undefined>>;
  readonly positionals: readonly string[];
}

/** parseArgs with `--help` on every command, at most `maxPositionals`, and no value echoed. */
export function parse(args: readonly string[], options: Options, maxPositionals: number): Parsed {
  let parsed: Parsed;
  try {
    parsed = parseArgs({
      args: [...args],
      options: { ...options, help: { type: 'boolean', short: 'h' } },
      allowPositionals: true,
      strict: true,
    });
  } catch (error) {
    // Node's first sentence names the option and the rule ("Unknown option '--x'"), not a value.
    throw new UsageError((error as Error).message.split('. ')[0] ?? 'bad option');
  }
  if (parsed.values.help === true) throw new HelpRequest();
  if (parsed.positionals.length > maxPositionals) {
    // Not echoed: a misplaced argument may well be a secret.
    throw new UsageError(`too many arguments (at most ${maxPositionals})`);
  }
  return parsed;
}

/** The value of a string option (parseArgs has already refused a missing or boolean one). */
export function text(parsed: Parsed, name: string): string | undefined {
  const value = parsed.values[name];
  return typeof value === 'string' ? value : undefined;
}

export function isHelp(arg: string): boolean {
  return arg === '--help' || arg === '-h' || arg === 'help';
}

export function checkedName(value: string | undefined, what: string): string {
  if (value === undefined) throw new UsageError(`missing <${what}>`);
  // The identity is compared byte for byte with access.json: invisible differences would only
  // make a token that never matches.
  if (value === '' || value.trim() !== value || /\p{Cc}/u.test(value) || value.length > 128) {
    throw new UsageError(
      `<${what}> must be 1 to 128 characters, without control characters or surrounding blanks`,
    );
  }
  return value;
}

export function requiredFile(value: string | undefined, command: string): string {
  if (value === undefined || value === '') throw new UsageError(`${command} needs --file`);
  return value;
}

export function optionalDuration(value: string | undefined): number | undefined {
  return value === undefined ? undefined : parseDuration(value);
}

export function fromStdinIf(value: string | undefined, io: CliIo): string | undefined {
  return value === '-' ? io.readStdin().trim() : value;
}

/** A command name is shown only when it looks like one. */
export function printable(arg: string): string {
  return /^[a-z][a-z-]{0,31}$/.test(arg) ? arg : '(not shown)';
}
