import { ConfigType, registerAs } from '@nestjs/config';
import { Env, integer, oneOf, text } from '../env';

export function parseHttpConfig(env: Env) {
  return {
    port: integer(env, 'PORT', 20080, 0, 65535),
    host: text(env, 'HOST') ?? '0.0.0.0',
    maxBodyBytes: integer(env, 'MAX_BODY_BYTES', 1_048_576, 64, 1024 * 1024 * 1024),
    logLevel: oneOf(
      env,
      'LOG_LEVEL',
      ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'],
      'info',
    ),
  };
}

export const httpConfig = registerAs('http', () => parseHttpConfig(process.env));
export type HttpConfig = ConfigType<typeof httpConfig>;
