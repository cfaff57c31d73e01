import { ConfigError } from '../env';
import { parseSpoolConfig } from './spool.config';

describe(parseSpoolConfig.name, () => {
  it('defaults: .local/spool, 1 GiB cap, low water at half, 20,000 lines/s, 2 s deadline', () => {
    expect(parseSpoolConfig({})).toEqual({
      dir: '.local/spool',
      maxBytes: 1024 ** 3,
      lowWaterBytes: 1024 ** 3 / 2,
      drainLinesPerSecond: 20_000,
      writeDeadlineMs: 2000,
    });
  });

  it('reads every variable', () => {
    expect(
      parseSpoolConfig({
        SPOOL_DIR: '/var/spool/stats',
        SPOOL_MAX_BYTES: '2097152',
        SPOOL_LOW_WATER_BYTES: '1000',
        SPOOL_DRAIN_LINES_PER_SECOND: '5',
        WRITE_DEADLINE_MS: '250',
      }),
    ).toEqual({
      dir: '/var/spool/stats',
      maxBytes: 2_097_152,
      lowWaterBytes: 1000,
      drainLinesPerSecond: 5,
      writeDeadlineMs: 250,
    });
  });

  it('puts the default low-water mark at half of a configured cap', () => {
    expect(parseSpoolConfig({ SPOOL_MAX_BYTES: '4194304' }).lowWaterBytes).toBe(2_097_152);
  });

  it('refuses a low-water mark at or above the cap, naming both variables', () => {
    expect(() =>
      parseSpoolConfig({ SPOOL_MAX_BYTES: '2097152', SPOOL_LOW_WATER_BYTES: '2097152' }),
    ).toThrow(new ConfigError('SPOOL_LOW_WATER_BYTES must be below SPOOL_MAX_BYTES'));
  });

  it('refuses a cap below 1 MiB', () => {
    expect(() => parseSpoolConfig({ SPOOL_MAX_BYTES: '1000' })).toThrow(
      new ConfigError('SPOOL_MAX_BYTES must be between 1048576 and 1125899906842624'),
    );
  });
});
