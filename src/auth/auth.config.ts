import { ConfigType, registerAs } from '@nestjs/config';
import { ConfigError, Env, matching, text } from '../env';
import { ACCESS_SECRET_PATTERN } from './token-codec';

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
  return {
    accessJsonPath: text(env, 'ACCESS_JSON') ?? './access.json',
    envToken,
    envSecret,
    production: text(env, 'NODE_ENV') === 'production',
  };
}

export const authConfig = registerAs('auth', () => parseAuthConfig(process.env));

export type AuthConfig = ConfigType<typeof authConfig>;
