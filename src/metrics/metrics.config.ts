import { ConfigType, registerAs } from '@nestjs/config';
import { boolean, Env } from '../env';

export function parseMetricsConfig(env: Env) {
  return {
    enabled: boolean(env, 'METRICS_ENABLED', true),
  };
}

export const metricsConfig = registerAs('metrics', () => parseMetricsConfig(process.env));
export type MetricsConfig = ConfigType<typeof metricsConfig>;
