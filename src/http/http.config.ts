import { ConfigType, registerAs } from '@nestjs/config';
import { ConfigError, Env, integer, matching, oneOf, text } from '../env';
import { logFormat } from './log-format';

/**
 * Load shedding by the event loop's delay and utilisation (before 2.1): a busy loop is the normal
 * state of a loaded service, and refusing because of it turned ordinary load into refusals.
 */
const OBSOLETE = ['SHED_EVENT_LOOP_DELAY_MS', 'SHED_EVENT_LOOP_UTILIZATION', 'SHED_MAX_IN_FLIGHT'];

/** `stdoutIsTty`: whether a person reads the log (see log-format.ts); false for a parse of a file. */
export function parseHttpConfig(env: Env, stdoutIsTty = false) {
  const port = integer(env, 'PORT', 20080, 0, 65535);
  return {
    port,
    healthPort: healthPort(env, port),
    host:
      matching(env, 'HOST', /^[A-Za-z0-9.:[\]-]+$/, 'must be a host name or IP address') ??
      '0.0.0.0',
    maxBodyBytes: integer(env, 'MAX_BODY_BYTES', 1_048_576, 64, 1024 * 1024 * 1024),
    logLevel: oneOf(
      env,
      'LOG_LEVEL',
      ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'],
      'info',
    ),
    logFormat: logFormat(env.NODE_ENV, stdoutIsTty),
    /** From SIGTERM to exit at the latest, whatever is still running. */
    shutdownTimeoutMs: integer(env, 'SHUTDOWN_TIMEOUT_MS', 10_000, 100, 600_000),
    /**
     * Writes whose body is read and parsed at once; the others wait for a turn, bodies unread
     * (WriteAdmission). 0: no admission control, every write is served at once
     * (docs/OPERATIONS.md, "Under overload").
     */
    admissionConcurrency: integer(env, 'ADMISSION_CONCURRENCY', 64, 0, 100_000),
    /** A write that has waited this long for its turn is answered 503 with Retry-After. */
    admissionTimeoutMs: integer(env, 'ADMISSION_TIMEOUT_MS', 1000, 10, 600_000),
    /** Variables of earlier versions that are set but no longer read (logged at start-up). */
    obsolete: OBSOLETE.filter((name) => text(env, name) !== undefined),
  };
}

/**
 * HEALTH_PORT: a second listener that answers only the liveness probe (`GET /ping`), so that a
 * probe never queues behind a spike's connections on PORT (docs/OPERATIONS.md, "Under
 * overload"). Unset or empty: none.
 */
function healthPort(env: Env, port: number): number | undefined {
  if (text(env, 'HEALTH_PORT') === undefined) return undefined;
  const health = integer(env, 'HEALTH_PORT', 0, 1, 65535);
  if (health === port) throw new ConfigError('HEALTH_PORT must differ from PORT');
  return health;
}

export const httpConfig = registerAs('http', () =>
  parseHttpConfig(process.env, process.stdout.isTTY === true),
);
export type HttpConfig = ConfigType<typeof httpConfig>;
