import { ConfigType, registerAs } from '@nestjs/config';
import { ConfigError, Env, integer, matching, oneOf, text } from '../env';
import { logFormat } from './log-format';

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
     * Writes are shed (503 at once) while the event loop runs this far behind; 0: never for
     * this reason. README, "Under overload".
     */
    shedEventLoopDelayMs: integer(env, 'SHED_EVENT_LOOP_DELAY_MS', 100, 0, 60_000),
    /** Writes are shed while the event loop was busy more than this share (%) of the last 100 ms. */
    shedEventLoopUtilization: integer(env, 'SHED_EVENT_LOOP_UTILIZATION', 90, 0, 100),
    /**
     * Writes are shed while this many are being served already; 0: no such limit. It bounds the
     * work admitted before the loop's load shows it: every admitted write costs CPU later.
     */
    shedMaxInFlight: integer(env, 'SHED_MAX_IN_FLIGHT', 256, 0, 1_000_000),
  };
}

/**
 * HEALTH_PORT: a second listener that answers only the liveness probe (`GET /ping`), so that a
 * probe never queues behind a spike's connections on PORT (README, "Under overload"). Unset or
 * empty: none.
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
