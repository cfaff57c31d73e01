import { ConfigType, registerAs } from '@nestjs/config';
import { Env, integer, matching, oneOf } from '../env';
import { logFormat } from './log-format';

/** `stdoutIsTty`: whether a person reads the log (see log-format.ts); false for a parse of a file. */
export function parseHttpConfig(env: Env, stdoutIsTty = false) {
  return {
    port: integer(env, 'PORT', 20080, 0, 65535),
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

export const httpConfig = registerAs('http', () =>
  parseHttpConfig(process.env, process.stdout.isTTY === true),
);
export type HttpConfig = ConfigType<typeof httpConfig>;
