import { ConfigType, registerAs } from '@nestjs/config';
import { ConfigError, Env, integer, oneOf, text } from '../env';

export type InfluxApi = 'v1' | 'v2';

export interface InfluxSettings {
  url: string;
  api: InfluxApi;
  /** v1: the database written to; both modes: the database `/query` reads (v2: a DBRP mapping). */
  database: string;
  retentionPolicy?: string;
  username?: string;
  password?: string;
  token?: string;
  org?: string;
  bucket?: string;
  timeoutMs: number;
  /** Group commit: lines per write, and writes in flight at once. */
  batchLines: number;
  writeConcurrency: number;
}

export function parseInfluxConfig(env: Env): InfluxSettings {
  const rawUrl = text(env, 'INFLUX_URL') ?? 'http://127.0.0.1:8086';
  let url: URL;
  try {
    url = new URL(rawUrl);
  } catch {
    throw new ConfigError('INFLUX_URL must be an http:// or https:// URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new ConfigError('INFLUX_URL must be an http:// or https:// URL');
  }
  if (url.search !== '' || url.hash !== '') {
    throw new ConfigError('INFLUX_URL must not have a query string or fragment');
  }
  if (url.username !== '' || url.password !== '') {
    throw new ConfigError(
      'INFLUX_URL must not carry credentials; use INFLUX_USERNAME/INFLUX_PASSWORD or INFLUX_TOKEN',
    );
  }

  const token = text(env, 'INFLUX_TOKEN');
  const bucket = text(env, 'INFLUX_BUCKET');
  const api = oneOf(env, 'INFLUX_API', ['v1', 'v2'], token && bucket ? 'v2' : 'v1');
  if (api === 'v2' && (token === undefined || bucket === undefined)) {
    throw new ConfigError('INFLUX_API=v2 needs INFLUX_TOKEN and INFLUX_BUCKET');
  }

  const username = text(env, 'INFLUX_USERNAME');
  const password = text(env, 'INFLUX_PASSWORD');
  if ((username === undefined) !== (password === undefined)) {
    throw new ConfigError('INFLUX_USERNAME and INFLUX_PASSWORD must be set together');
  }

  const database =
    text(env, 'INFLUX_DATABASE') ?? (api === 'v2' && bucket ? bucket.split('/')[0]! : 'stats');
  if (database.includes('"') || database.includes('\n')) {
    throw new ConfigError('INFLUX_DATABASE must not contain double quotes or line breaks');
  }

  return {
    url: url.origin + url.pathname.replace(/\/+$/, ''),
    api,
    database,
    retentionPolicy: text(env, 'INFLUX_RETENTION_POLICY'),
    username,
    password,
    token,
    org: text(env, 'INFLUX_ORG'),
    bucket,
    timeoutMs: integer(env, 'INFLUX_TIMEOUT_MS', 10_000, 100, 600_000),
    batchLines: integer(env, 'WRITE_BATCH_LINES', 5000, 1, 100_000),
    // 4, not 2: with writes that leave early (store/group-commit.ts), two slots let a batch load
    // fall into the slow collection mode in two runs of three (docs/PERFORMANCE.md).
    writeConcurrency: integer(env, 'WRITE_CONCURRENCY', 4, 1, 64),
  };
}

export const influxConfig = registerAs('influx', () => parseInfluxConfig(process.env));
export type InfluxConfig = ConfigType<typeof influxConfig>;
