/**
 * The command line of `stats-service-token`: secrets, tokens and users of `access.json`
 * (docs/TOKENS.md). This file holds the usage, the dispatch and the commands that touch no file
 * (secret, token) or only read one (verify); the commands that change a file are in
 * user-commands.ts. No secret or token ever goes into an error message.
 */
import { loadAccessFile, SCOPES } from '../auth/access-file';
import { ACCESS_SECRET_PATTERN } from '../auth/token-codec';
import { ConfigError } from '../env';
import { AccessChangeError } from './access-file-writer';
import {
  checkedName,
  EXIT_FAILED,
  EXIT_OK,
  EXIT_USAGE,
  fromStdinIf,
  HelpRequest,
  isHelp,
  optionalDuration,
  parse,
  printable,
  requiredFile,
  text,
  UsageError,
  type CliIo,
} from './cli-io';
import { describeExpiry, issueToken, newSecret, verifyToken } from './tokens';
import { addTokenCommand, addUserCommand, revokeCommand, rotateCommand } from './user-commands';

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
