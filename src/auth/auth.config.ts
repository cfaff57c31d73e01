import { ConfigType, registerAs } from '@nestjs/config';
import { ConfigError, Env, integer, matching, text } from '../env';
import { ACCESS_SECRET_PATTERN } from './token-codec';

const MAX_RATE = 1_000_000;

export function parseAuthConfig(env: Env) {
  const envToken = text(env, 'STATS_ACCESS_TOKEN');
  const envSecret = matching(
    env,
    'STATS_ACCESS_SECRET',
    ACCESS_SECRET_PATTERN,
    'must be 128 hexadecimal characters',
  );
  if ((envToken === undefined) !== (envSecret === undefined)) {
    throw new ConfigError('STATS_ACCESS_TOKEN and STATS_ACCESS_SECRET must be set together');
  }
  const rateLimitPerSecond = integer(env, 'RATE_LIMIT_PER_SECOND', 0, 0, MAX_RATE);
  return {
    accessJsonPath: text(env, 'ACCESS_JSON') ?? './access.json',
    envToken,
    envSecret,
    // `PRODUCTION` or ` production ` is production too: a typo must not let the demo secret in.
    production: text(env, 'NODE_ENV')?.toLowerCase() === 'production',
    /** Requests per second per user, on average; 0 is no limit. */
    rateLimitPerSecond,
    /** Requests a user may send at once (unused without a limit). */
    rateLimitBurst: integer(env, 'RATE_LIMIT_BURST', 2 * rateLimitPerSecond, 1, 2 * MAX_RATE),
  };
}

export const authConfig = registerAs('auth', () => parseAuthConfig(process.env));

export type AuthConfig = ConfigType<typeof authConfig>;
