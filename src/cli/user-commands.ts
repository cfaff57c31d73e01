/**
 * The commands that change the users and tokens of an access file: add-user, add-token, rotate
 * and revoke. Each prints the new token (or nothing, for revoke) on stdout and what it changed on
 * stderr; the file is written by access-file-writer.ts.
 */
import { loadAccessFile, type AccessUser, type Scope } from '../auth/access-file';
import type { AuthenticatedUser } from '../auth/token-set';
import {
  AccessChangeError,
  addToken,
  appendUser,
  replaceTokens,
  revokeToken,
  type TokenEntry,
} from './access-file-writer';
import {
  checkedName,
  EXIT_OK,
  fromStdinIf,
  optionalDuration,
  parse,
  parseScopes,
  requiredFile,
  text,
  UsageError,
  type CliIo,
  type Options,
  type Parsed,
} from './cli-io';
import { issueToken, newSecret, newUserId } from './tokens';

/** The options of the commands that make a token for a user of the file. */
const NEW_TOKEN_OPTIONS: Options = {
  file: { type: 'string' },
  'expires-in': { type: 'string' },
  scopes: { type: 'string' },
  json: { type: 'boolean' },
};

export function addUserCommand(args: readonly string[], io: CliIo): number {
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

export function addTokenCommand(args: readonly string[], io: CliIo): number {
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

export function rotateCommand(args: readonly string[], io: CliIo): number {
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

export function revokeCommand(args: readonly string[], io: CliIo): number {
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
