/**
 * The commands of `stats-service-token`: secrets, tokens and users of `access.json`
 * (docs/TOKENS.md), made with the service's own token codec so that the service, and the
 * original Python library, accept them. No secret or token ever goes into an error message.
 */
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import { loadAccessFile, SCOPES, type AccessUser, type Scope } from '../auth/access-file';
import { ACCESS_SECRET_PATTERN, makeToken } from '../auth/token-codec';
import { TokenSet, type AuthenticatedUser, type TokenFailure } from '../auth/token-set';
import { ConfigError } from '../env';
import {
  AccessChangeError,
  addToken,
  appendUser,
  replaceTokens,
  revokeToken,
  type TokenEntry,
} from './access-file-writer';

export const EXIT_OK = 0;
/** The command ran and said no: a token that does not verify, a user that exists, a bad file. */
export const EXIT_FAILED = 1;
/** The command line is wrong (or empty): nothing was done. `--help` exits 0 (EXIT_OK). */
export const EXIT_USAGE = 2;

export const USAGE = `usage: stats-service-token <command> [options]

  secret
      Print a new access secret (128 hexadecimal characters).
  token <identity> --secret <secret> [--expires-in <duration>]
      Print a token for <identity> signed with <secret>.
  add-user <username> --file <access.json> [--name <name>] [--expires-in <duration>]
           [--scopes <scopes>] [--json]
      Add a user with a new id, secret and token to the file (created, with its folder, when
      missing) and print the token; with --json, one JSON object with username, id,
      access_token and access_secret.
  add-token <user> --file <access.json> [--expires-in <duration>] [--scopes <scopes>] [--json]
      Add a new token (with a secret of its own) to a user, named by username or id, and print
      it. The user's other tokens keep working: hand the new one out, then revoke the old.
  revoke --file <access.json> <token>
      Remove the token from the file; the service refuses it once it has re-read the file.
  rotate <user> --file <access.json> [--expires-in <duration>] [--scopes <scopes>] [--json]
      Replace every token of the user with one new token and print it: add-token and revoke
      in one step, for when the old tokens must stop working now.
  verify --file <access.json> <token>
      Exit 0 when the service would accept the token with this file, 1 (and why) otherwise.

  <duration> is a whole number of days, hours, minutes or seconds: 90d, 12h, 30m, 3600s.
  Without --expires-in a token never expires. <scopes> is "write" (POST only), "read"
  (GET /log/event/{id} only) or "read,write"; without --scopes a token may do what its user
  may (rotate keeps the scopes of the tokens it replaces). A <secret> or <token> given as "-"
  is read from standard input (so that it stays out of the process list and the shell history).
  The service re-reads the file within a few seconds of a change: no restart.

  Exit status: 0 done (and --help), 1 refused or failed, 2 bad command line.
`;

const UNIT_SECONDS = { d: 86_400, h: 3_600, m: 60, s: 1 } as const;

export interface CliIo {
  stdout(text: string): void;
  stderr(text: string): void;
  /** All of standard input, for an argument given as "-". */
  readStdin(): string;
  /** Milliseconds since the epoch. */
  now(): number;
}

/** Runs one command line (without `node` and the script) and returns the exit status. */
export function runCli(argv: readonly string[], io: CliIo): number {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case 'secret':
        return secretCommand(rest, io);
      case 'token':
        return tokenCommand(rest, io);
      case 'add-user':
        return addUserCommand(rest, io);
      case 'add-token':
        return addTokenCommand(rest, io);
      case 'revoke':
        return revokeCommand(rest, io);
      case 'rotate':
        return rotateCommand(rest, io);
      case 'verify':
        return verifyCommand(rest, io);
      default:
        if (command === undefined) throw new UsageError('');
        if (!isHelp(command)) throw new UsageError(`unknown command: ${printable(command)}`);
        throw new HelpRequest();
    }
  } catch (error) {
    // Asked for: the usage is the answer, on stdout, and the command succeeded.
    if (error instanceof HelpRequest) {
      io.stdout(USAGE);
      return EXIT_OK;
    }
    if (error instanceof UsageError) {
      io.stderr(error.message === '' ? USAGE : `stats-service-token: ${error.message}\n\n${USAGE}`);
      return EXIT_USAGE;
    }
    // These messages name a file and the problem, never its content.
    if (error instanceof ConfigError || error instanceof AccessChangeError) {
      io.stderr(`stats-service-token: ${error.message}\n`);
      return EXIT_FAILED;
    }
    // Anything else comes from the file system (its message names the path) or the codec.
    io.stderr(`stats-service-token: ${error instanceof Error ? error.message : String(error)}\n`);
    return EXIT_FAILED;
  }
}

/** A new `access_secret`: 64 random bytes as hex, the format of `apiaccesstoken`. */
export function newSecret(): string {
  return randomBytes(64).toString('hex');
}

/** A new user id in the format of the original (`user_` and a uuid4 without dashes). */
export function newUserId(): string {
  return `user_${randomBytes(16).toString('hex')}`;
}

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

/**
 * A token for `identity` signed with `secret`; `expiresInSeconds` from `nowMs` on, or, without
 * it, never expiring (`"expires": 10`, as the original issued every token).
 */
export function issueToken(
  identity: string,
  secret: string,
  expiresInSeconds: number | undefined,
  nowMs: number,
): string {
  const expiresAt =
    expiresInSeconds === undefined ? undefined : Math.floor(nowMs / 1000) + expiresInSeconds;
  return makeToken(identity, secret, expiresAt === undefined ? {} : { expiresAt });
}

export type Verification =
  | {
      readonly ok: true;
      readonly user: AuthenticatedUser;
      readonly scopes: ReadonlySet<Scope>;
      readonly expires: number;
    }
  | { readonly ok: false; readonly reason: string };

/**
 * Whether the service would accept `token` with these users: the service's own check (TokenSet),
 * each failure told in an operator's words.
 */
export function verifyToken(
  users: readonly AccessUser[],
  token: string,
  nowMs: number,
): Verification {
  const result = new TokenSet(users).verify(token, nowMs / 1000);
  return result.ok ? result : { ok: false, reason: explain(result.failure) };
}

function explain(failure: TokenFailure): string {
  switch (failure.kind) {
    case 'malformed':
      return `not a token (${failure.detail})`;
    case 'unknown':
      return 'not listed in the file';
    case 'bad-signature':
      return 'bad signature: not signed with the secret listed beside it';
    case 'identity':
      return `its identity is neither the username nor the id of its user ${failure.user.username}`;
    case 'expired':
      return `expired ${describeExpiry(failure.expires)}`;
  }
}

/** `write`, `read`, `read,write` → the scopes, checked. */
export function parseScopes(text: string): Scope[] {
  const scopes = text.split(',').map((scope) => scope.trim());
  if (scopes.some((scope) => !SCOPES.includes(scope as Scope))) {
    throw new UsageError('--scopes must be "write", "read" or "read,write"');
  }
  return [...new Set(scopes as Scope[])];
}

export function describeExpiry(expires: number): string {
  if (expires < 1e9) return expires <= 5 ? '(legacy expires value <= 5)' : 'never';
  return `at ${new Date(expires * 1000).toISOString()}`;
}

/** A command line that cannot be run; its message is shown with the usage. */
class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** `--help`, `-h` or `help`, before or after a command. */
class HelpRequest extends Error {
  override readonly name = 'HelpRequest';
}

function secretCommand(args: readonly string[], io: CliIo): number {
  parse(args, {}, 0);
  io.stdout(`${newSecret()}\n`);
  return EXIT_OK;
}

function tokenCommand(args: readonly string[], io: CliIo): number {
  const parsed = parse(args, { secret: { type: 'string' }, 'expires-in': { type: 'string' } }, 1);
  const identity = checkedName(parsed.positionals[0], 'identity');
  const secret = fromStdinIf(text(parsed, 'secret'), io);
  if (secret === undefined) throw new UsageError('token needs --secret');
  if (!ACCESS_SECRET_PATTERN.test(secret)) {
    throw new UsageError('--secret must be 128 hexadecimal characters');
  }
  const expiresIn = optionalDuration(text(parsed, 'expires-in'));
  io.stdout(`${issueToken(identity, secret, expiresIn, io.now())}\n`);
  return EXIT_OK;
}

/** The options of the commands that make a token for a user of the file. */
const NEW_TOKEN_OPTIONS: Options = {
  file: { type: 'string' },
  'expires-in': { type: 'string' },
  scopes: { type: 'string' },
  json: { type: 'boolean' },
};

function addUserCommand(args: readonly string[], io: CliIo): number {
  const parsed = parse(args, { ...NEW_TOKEN_OPTIONS, name: { type: 'string' } }, 1);
  const username = checkedName(parsed.positionals[0], 'username');
  const file = requiredFile(text(parsed, 'file'), 'add-user');
  const name = text(parsed, 'name');
  const id = newUserId();
  const entry = newTokenEntry(username, parsed, io);
  appendUser(file, { id, username, ...(name === undefined ? {} : { name }), tokens: [entry] });
  io.stderr(`stats-service-token: added ${username} (${id}) to ${file}\n`);
  printToken(parsed, { username, id }, entry, io);
  return EXIT_OK;
}

function addTokenCommand(args: readonly string[], io: CliIo): number {
  const parsed = parse(args, NEW_TOKEN_OPTIONS, 1);
  const name = checkedName(parsed.positionals[0], 'user');
  const file = requiredFile(text(parsed, 'file'), 'add-token');
  const user = userOf(file, name);
  const entry = newTokenEntry(user.username, parsed, io);
  addToken(file, name, entry);
  io.stderr(
    `stats-service-token: added a token to ${user.username} (${user.id}) in ${file}; ` +
      `it has ${user.tokens.length + 1} now\n`,
  );
  printToken(parsed, user, entry, io);
  return EXIT_OK;
}

function rotateCommand(args: readonly string[], io: CliIo): number {
  const parsed = parse(args, NEW_TOKEN_OPTIONS, 1);
  const name = checkedName(parsed.positionals[0], 'user');
  const file = requiredFile(text(parsed, 'file'), 'rotate');
  const user = userOf(file, name);
  // The new token does what the old ones did: rotating must not widen or narrow access.
  const kept = new Set(user.tokens.map((t) => JSON.stringify(t.scopes ?? null)));
  if (text(parsed, 'scopes') === undefined && kept.size > 1) {
    throw new UsageError(
      `the tokens of ${user.username} have different scopes; say which the new one gets with --scopes`,
    );
  }
  const inherited = user.tokens[0]?.scopes;
  const entry = newTokenEntry(user.username, parsed, io, inherited);
  const removed = replaceTokens(file, name, entry);
  io.stderr(
    `stats-service-token: rotated ${user.username} (${user.id}) in ${file}: ` +
      `${removed} old token(s) removed, 1 new\n`,
  );
  printToken(parsed, user, entry, io);
  return EXIT_OK;
}

function revokeCommand(args: readonly string[], io: CliIo): number {
  const parsed = parse(args, { file: { type: 'string' } }, 1);
  const file = requiredFile(text(parsed, 'file'), 'revoke');
  const token = fromStdinIf(parsed.positionals[0], io);
  if (token === undefined || token === '') throw new UsageError('revoke needs a token');
  const user = revokeToken(file, token);
  const left = user.tokens.length - 1;
  io.stderr(
    `stats-service-token: revoked a token of ${user.username} (${user.id}) in ${file}; ` +
      `${left} left${left === 0 ? ': the user can no longer post or read' : ''}\n`,
  );
  return EXIT_OK;
}

function userOf(file: string, name: string): AccessUser {
  const user = loadAccessFile(file).find((u) => u.username === name || u.id === name);
  if (user === undefined) throw new AccessChangeError(`${file}: no user ${name}`);
  return user;
}

/** A new secret and a token for `identity` signed with it, with the command's options. */
function newTokenEntry(
  identity: string,
  parsed: Parsed,
  io: CliIo,
  inheritedScopes?: readonly Scope[],
): TokenEntry {
  const expiresIn = optionalDuration(text(parsed, 'expires-in'));
  const scopesText = text(parsed, 'scopes');
  const scopes = scopesText === undefined ? inheritedScopes : parseScopes(scopesText);
  const secret = newSecret();
  return {
    access_token: issueToken(identity, secret, expiresIn, io.now()),
    access_secret: secret,
    ...(scopes === undefined ? {} : { scopes }),
  };
}

function printToken(parsed: Parsed, user: AuthenticatedUser, entry: TokenEntry, io: CliIo): void {
  const { username, id } = user;
  const { access_token, access_secret } = entry;
  io.stdout(
    parsed.values.json === true
      ? `${JSON.stringify({ username, id, access_token, access_secret })}\n`
      : `${access_token}\n`,
  );
}

function verifyCommand(args: readonly string[], io: CliIo): number {
  const parsed = parse(args, { file: { type: 'string' } }, 1);
  const file = requiredFile(text(parsed, 'file'), 'verify');
  const token = fromStdinIf(parsed.positionals[0], io);
  if (token === undefined || token === '') throw new UsageError('verify needs a token');
  const result = verifyToken(loadAccessFile(file), token, io.now());
  if (!result.ok) {
    io.stderr(`stats-service-token: invalid token: ${result.reason}\n`);
    return EXIT_FAILED;
  }
  const { username, id } = result.user;
  const scopes = SCOPES.filter((scope) => result.scopes.has(scope)).join(', ');
  io.stdout(
    `valid: ${username} (${id}), expires ${describeExpiry(result.expires)}, may ${scopes}\n`,
  );
  return EXIT_OK;
}

type Options = Record<string, { type: 'string' | 'boolean' }>;

interface Parsed {
  readonly values: Readonly<Record<string, string | boolean | undefined>>;
  readonly positionals: readonly string[];
}

/** parseArgs with `--help` on every command, at most `maxPositionals`, and no value echoed. */
function parse(args: readonly string[], options: Options, maxPositionals: number): Parsed {
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
function text(parsed: Parsed, name: string): string | undefined {
  const value = parsed.values[name];
  return typeof value === 'string' ? value : undefined;
}

function isHelp(arg: string): boolean {
  return arg === '--help' || arg === '-h' || arg === 'help';
}

function checkedName(value: string | undefined, what: string): string {
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

function requiredFile(value: string | undefined, command: string): string {
  if (value === undefined || value === '') throw new UsageError(`${command} needs --file`);
  return value;
}

function optionalDuration(value: string | undefined): number | undefined {
  return value === undefined ? undefined : parseDuration(value);
}

function fromStdinIf(value: string | undefined, io: CliIo): string | undefined {
  return value === '-' ? io.readStdin().trim() : value;
}

/** A command name is shown only when it looks like one. */
function printable(arg: string): string {
  return /^[a-z][a-z-]{0,31}$/.test(arg) ? arg : '(not shown)';
}
