import type { Logger } from '@nestjs/common';
import type { InfluxFailure } from './influx.answers';
import type { InfluxSettings } from './influx.config';

/** At most one error line about refused credentials per this long. */
const LOG_EVERY_MS = 60_000;

/**
 * Whether InfluxDB refuses the service's credentials, as its last authenticated answer said:
 * set by a 401 or 403 to a write or a query, cleared by any answer that got past them. While it
 * is set, /ready fails naming the variables to fix (never their values), and an error line says
 * so at most once a minute; the events meanwhile wait in the spool.
 */
export class CredentialsWatch {
  private refusedWith?: number;
  private loggedAt = -Infinity;
  private readonly listeners = new Set<() => void>();

  constructor(
    private readonly config: Pick<InfluxSettings, 'api' | 'username'>,
    private readonly logger: Pick<Logger, 'error' | 'log'>,
    private readonly now: () => number = Date.now,
  ) {}

  /** Takes in what InfluxDB answered: undefined for success. */
  saw(failure: InfluxFailure | undefined): void {
    if (failure === undefined || failure.kind === 'refused') {
      if (this.refusedWith === undefined) return;
      this.refusedWith = undefined;
      this.logger.log('InfluxDB accepts the credentials again');
      return;
    }
    if (failure.kind !== 'credentials') return;
    this.refusedWith = failure.status;
    for (const listener of this.listeners) listener();
    const now = this.now();
    if (now - this.loggedAt < LOG_EVERY_MS) return;
    this.loggedAt = now;
    this.logger.error(`${this.problem()!}; events are kept in the spool until this is fixed`);
  }

  /** Calls `listener` on each answer that refused the credentials (to count them). */
  onRefused(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  get refused(): boolean {
    return this.refusedWith !== undefined;
  }

  /** What is wrong, naming the variables to fix; undefined while nothing is. */
  problem(): string | undefined {
    const status = this.refusedWith;
    if (status === undefined) return undefined;
    if (this.config.api === 'v2') return `InfluxDB refuses INFLUX_TOKEN (${status})`;
    return this.config.username === undefined
      ? `InfluxDB asks for credentials (${status}): INFLUX_USERNAME and INFLUX_PASSWORD are not set`
      : `InfluxDB refuses INFLUX_USERNAME/INFLUX_PASSWORD (${status})`;
  }
}
