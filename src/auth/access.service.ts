import {
  Inject,
  Injectable,
  Logger,
  Optional,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import { closeSync, openSync, unwatchFile, watchFile, type Stats } from 'node:fs';
import { isatty } from 'node:tty';
import { ConfigError } from '../env';
import { MetricsService } from '../metrics/metrics.service';
import { loadAccessFile, usersFromEnv, type AccessUser, type Scope } from './access-file';
import { authConfig, type AuthConfig } from './auth.config';
import { TokenSet, type AuthenticatedUser, type TokenFailure } from './token-set';

export type { AuthenticatedUser } from './token-set';

/** The demo pair of the original project is public (docs/TOKENS.md, "Test vectors"): fine locally, never in production. */
const PUBLIC_DEMO_SECRET =
  'b710164f16543eacc1a81fc889667b52403c8a300dd8c50c69f55d3e0061b22ba7e9789b61a2fd932def15c74d6fcf387ce3270c6b96579a4dcfb4a7a722354e';

/**
 * How often access.json is looked at for a change. A stat per second is nothing, and it sees
 * every way a file is replaced (written in place, renamed over, a Kubernetes Secret's symlink
 * swapped), which inotify on the path does not; a change works within about two of these.
 */
export const ACCESS_FILE_POLL_MS = 1000;

export type AuthResult =
  | {
      readonly ok: true;
      readonly user: AuthenticatedUser;
      readonly scopes: ReadonlySet<Scope>;
    }
  | { readonly ok: false; readonly reason: string };

/**
 * Who may post and read: the users of ACCESS_JSON (or the one user of STATS_ACCESS_TOKEN and
 * STATS_ACCESS_SECRET). A bad file stops start-up. While the service runs the file is read again
 * when it changes and on SIGHUP; a file that is broken then is logged (naming the file and the
 * entry, never a secret) and the last good set stays in force.
 */
@Injectable()
export class AccessService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(AccessService.name);
  private tokens: TokenSet;
  private watching = false;
  /** stdin, stdout and stderr that were a terminal at start-up. */
  private terminals: number[] = [];

  constructor(
    @Inject(authConfig.KEY) private readonly config: AuthConfig,
    @Optional() private readonly metrics?: MetricsService,
  ) {
    this.tokens = this.read();
    this.logger.log(this.describe());
  }

  get userCount(): number {
    return this.tokens.userCount;
  }

  /** The file re-read while running, or undefined when the user comes from the environment. */
  private get file(): string | undefined {
    return this.config.envToken !== undefined && this.config.envSecret !== undefined
      ? undefined
      : this.config.accessJsonPath;
  }

  authenticate(token: string): AuthResult {
    const result = this.tokens.verify(token, Date.now() / 1000);
    return result.ok
      ? { ok: true, user: result.user, scopes: result.scopes }
      : { ok: false, reason: reasonFor(result.failure) };
  }

  /**
   * Reads the access file again and, when it is good, puts it in force at once: a new token
   * works from the next request on, a removed one is refused. When it is not, logs why and
   * keeps the tokens in force. Returns whether the new file was taken.
   */
  reload(cause: string): boolean {
    const file = this.file;
    if (file === undefined) {
      this.logger.log(`${cause}: the user comes from STATS_ACCESS_TOKEN, no file to re-read`);
      return false;
    }
    try {
      this.tokens = this.read();
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      // The message names the file and the entry, never a token or a secret.
      this.logger.error(
        `${error.message} (re-read on ${cause}); still using the previous ${this.describe()}`,
      );
      this.metrics?.accessReloads.inc({ outcome: 'failed' });
      return false;
    }
    this.logger.log(`${file} re-read on ${cause}: ${this.describe()}`);
    this.metrics?.accessReloads.inc({ outcome: 'loaded' });
    return true;
  }

  onApplicationBootstrap(): void {
    if (this.watching) return;
    const file = this.file;
    if (file !== undefined) {
      watchFile(file, { interval: ACCESS_FILE_POLL_MS, persistent: false }, this.onFileChange);
    }
    // Also without a file: a SIGHUP must not stop the service (Node's default for it).
    process.on('SIGHUP', this.onHangup);
    this.terminals = [0, 1, 2].filter((fd) => isatty(fd));
    this.watching = true;
  }

  onApplicationShutdown(): void {
    if (!this.watching) return;
    const file = this.file;
    if (file !== undefined) unwatchFile(file, this.onFileChange);
    process.off('SIGHUP', this.onHangup);
    this.watching = false;
  }

  private readonly onFileChange = (current: Stats, previous: Stats): void => {
    // watchFile also calls on an access-time change; only a new content counts.
    const changed =
      current.mtimeMs !== previous.mtimeMs ||
      current.ctimeMs !== previous.ctimeMs ||
      current.ino !== previous.ino ||
      current.size !== previous.size;
    if (changed) this.reload('a change of the file');
  };

  /**
   * SIGHUP re-reads the file, unless it has its first meaning: the terminal the service ran on
   * went away (its window closed, the ssh or `script` session around it ended). The service
   * then has no controlling terminal any more, and stops as on SIGTERM instead of living on
   * with nowhere to write its logs. Without a terminal at start (a container, a unit) every
   * SIGHUP re-reads.
   */
  private readonly onHangup = (): void => {
    if (this.terminals.length > 0 && !hasControllingTerminal()) {
      process.off('SIGHUP', this.onHangup);
      process.kill(process.pid, 'SIGTERM');
      return;
    }
    this.reload('SIGHUP');
  };

  private read(): TokenSet {
    const file = this.file;
    const users =
      file === undefined
        ? usersFromEnv(this.config.envToken!, this.config.envSecret!)
        : loadAccessFile(file);
    if (this.config.production && holdsDemoSecret(users)) {
      throw new ConfigError(
        'the public demo access secret is configured (ACCESS_JSON or STATS_ACCESS_SECRET) and NODE_ENV is production; replace it',
      );
    }
    return new TokenSet(users);
  }

  private describe(): string {
    return `${this.tokens.userCount} user(s), ${this.tokens.tokenCount} token(s)`;
  }
}

/** Whether /dev/tty opens: it does not once the session has lost its terminal (ENXIO, EIO). */
function hasControllingTerminal(): boolean {
  try {
    closeSync(openSync('/dev/tty', 'r'));
    return true;
  } catch {
    return false;
  }
}

function holdsDemoSecret(users: readonly AccessUser[]): boolean {
  return users.some((user) => user.tokens.some((t) => t.accessSecret === PUBLIC_DEMO_SECRET));
}

/** The 401's message: which check failed, never the token. */
function reasonFor(failure: TokenFailure): string {
  switch (failure.kind) {
    case 'malformed':
      return 'malformed token';
    case 'unknown':
      return 'unknown token';
    case 'bad-signature':
      return 'bad signature';
    case 'identity':
      return 'token identity does not match its user';
    case 'expired':
      return 'token expired';
  }
}
