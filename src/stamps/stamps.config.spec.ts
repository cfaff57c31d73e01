import { ConfigError } from '../env';
import { parseStampsConfig } from './stamps.config';

describe(parseStampsConfig.name, () => {
  it('defaults: 300 s ahead at most, a 24 h window, 500,000 ids remembered', () => {
    expect(parseStampsConfig({})).toEqual({
      maxFutureSeconds: 300,
      dedupWindowHours: 24,
      dedupMaxEvents: 500_000,
    });
  });

  it('reads every variable', () => {
    expect(
      parseStampsConfig({
        MAX_EVENT_FUTURE_SECONDS: '0',
        DEDUP_WINDOW_HOURS: '48',
        DEDUP_MAX_EVENTS: '1000',
      }),
    ).toEqual({ maxFutureSeconds: 0, dedupWindowHours: 48, dedupMaxEvents: 1000 });
  });

  it('refuses a window of 0 hours, naming the variable and the range', () => {
    expect(() => parseStampsConfig({ DEDUP_WINDOW_HOURS: '0' })).toThrow(
      new ConfigError('DEDUP_WINDOW_HOURS must be between 1 and 8760'),
    );
  });

  it('refuses a future bound that is not a whole number', () => {
    expect(() => parseStampsConfig({ MAX_EVENT_FUTURE_SECONDS: '1.5' })).toThrow(
      new ConfigError('MAX_EVENT_FUTURE_SECONDS must be a whole number'),
    );
  });

  it('refuses fewer than 1000 remembered ids', () => {
    expect(() => parseStampsConfig({ DEDUP_MAX_EVENTS: '999' })).toThrow(
      new ConfigError('DEDUP_MAX_EVENTS must be between 1000 and 10000000'),
    );
  });
});
