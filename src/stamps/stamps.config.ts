import { ConfigType, registerAs } from '@nestjs/config';
import { Env, integer } from '../env';

export function parseStampsConfig(env: Env) {
  return {
    /** How far ahead of the service's clock an event's `time` may be, in seconds. */
    maxFutureSeconds: integer(env, 'MAX_EVENT_FUTURE_SECONDS', 300, 0, 31_536_000),
    /** How long a resent client `event_id` is recognised (and mapped to its first point). */
    dedupWindowHours: integer(env, 'DEDUP_WINDOW_HOURS', 24, 1, 8760),
    /** The most recent client ids remembered; beyond it the oldest is forgotten first. */
    dedupMaxEvents: integer(env, 'DEDUP_MAX_EVENTS', 500_000, 1000, 10_000_000),
  };
}

export const stampsConfig = registerAs('stamps', () => parseStampsConfig(process.env));
export type StampsConfig = ConfigType<typeof stampsConfig>;
