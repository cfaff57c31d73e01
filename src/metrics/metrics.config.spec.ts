import { ConfigError } from '../env';
import { parseMetricsConfig } from './metrics.config';

describe(parseMetricsConfig.name, () => {
  it('turns metrics on by default', () => {
    expect(parseMetricsConfig({})).toEqual({ enabled: true });
  });

  it.each([
    ['false', false],
    ['FALSE', false],
    [' true ', true],
  ])('reads METRICS_ENABLED=%j', (raw, enabled) => {
    expect(parseMetricsConfig({ METRICS_ENABLED: raw }).enabled).toBe(enabled);
  });

  it('refuses another value, naming the variable and the rule', () => {
    expect(() => parseMetricsConfig({ METRICS_ENABLED: 'no' })).toThrow(
      new ConfigError('METRICS_ENABLED must be one of: true, false'),
    );
  });
});
