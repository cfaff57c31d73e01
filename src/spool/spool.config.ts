import { ConfigType, registerAs } from '@nestjs/config';
import { ConfigError, Env, integer, text } from '../env';

export function parseSpoolConfig(env: Env) {
  const maxBytes = integer(env, 'SPOOL_MAX_BYTES', 1024 ** 3, 1024 * 1024, 2 ** 50);
  const lowWaterBytes = integer(env, 'SPOOL_LOW_WATER_BYTES', Math.floor(maxBytes / 2), 0, 2 ** 50);
  if (lowWaterBytes >= maxBytes) {
    throw new ConfigError('SPOOL_LOW_WATER_BYTES must be below SPOOL_MAX_BYTES');
  }
  return {
    /** Where accepted events wait while InfluxDB cannot take them. */
    dir: text(env, 'SPOOL_DIR') ?? '.local/spool',
    maxBytes,
    lowWaterBytes,
    /** The drainer's cap, so that a recovering InfluxDB is not flooded. */
    drainLinesPerSecond: integer(env, 'SPOOL_DRAIN_LINES_PER_SECOND', 20_000, 1, 10_000_000),
    /** A write InfluxDB has not acknowledged after this long is spooled instead. */
    writeDeadlineMs: integer(env, 'WRITE_DEADLINE_MS', 2000, 10, 600_000),
  };
}

export const spoolConfig = registerAs('spool', () => parseSpoolConfig(process.env));
export type SpoolConfig = ConfigType<typeof spoolConfig>;
