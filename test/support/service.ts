import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { createApp, serve } from '../../src/app.factory';
import { dropDatabase, uniqueDatabase } from './influxd';

export const REPO = join(__dirname, '..', '..');

/** The public demo pair (docs/TOKENS.md, "access.json"), as shipped in the repo's access.json. */
export const DEMO_TOKEN =
  'eyJleHBpcmVzIjogMTAsICJzYWx0IjogImJjODIxOCIsICJpZGVudGl0eSI6ICJzdGF0c2JvYiJ9NyjnVy3QkN9pa2H_DVe4OZLi5dydu1mB3clN2HezjI8y331ZflOHSOtgvw8JjnjlC4UFF8q1LCp0kHdj96ipDw==';
export const DEMO_SECRET =
  'b710164f16543eacc1a81fc889667b52403c8a300dd8c50c69f55d3e0061b22ba7e9789b61a2fd932def15c74d6fcf387ce3270c6b96579a4dcfb4a7a722354e';
export const AUTH = { Authorization: `Token ${DEMO_TOKEN}` };

/** Every variable the service reads; those a test does not set are unset while it starts. */
const SERVICE_VARS = [
  'PORT',
  'HOST',
  'ACCESS_JSON',
  'STATS_ACCESS_TOKEN',
  'STATS_ACCESS_SECRET',
  'TABLE_NAME',
  'EVENT_TAGS',
  'EVENT_READ_WINDOW_HOURS',
  'EVENT_READ_MAX_SCANS',
  'MAX_BODY_BYTES',
  'MAX_EVENT_KEYS',
  'MAX_KEY_LENGTH',
  'MAX_STRING_BYTES',
  'MAX_BATCH_EVENTS',
  'WRITE_BATCH_LINES',
  'WRITE_CONCURRENCY',
  'SPOOL_DIR',
  'SPOOL_MAX_BYTES',
  'SPOOL_LOW_WATER_BYTES',
  'SPOOL_DRAIN_LINES_PER_SECOND',
  'WRITE_DEADLINE_MS',
  'SHUTDOWN_TIMEOUT_MS',
  'ADMISSION_CONCURRENCY',
  'ADMISSION_TIMEOUT_MS',
  'HEALTH_PORT',
  'LOG_LEVEL',
  'INFLUX_URL',
  'INFLUX_API',
  'INFLUX_DATABASE',
  'INFLUX_RETENTION_POLICY',
  'INFLUX_USERNAME',
  'INFLUX_PASSWORD',
  'INFLUX_TOKEN',
  'INFLUX_ORG',
  'INFLUX_BUCKET',
  'INFLUX_TIMEOUT_MS',
  'METRICS_ENABLED',
  'RATE_LIMIT_PER_SECOND',
  'RATE_LIMIT_BURST',
];

/** What main.ts uses to start: src/app.factory.ts, from the source or from the build. */
export interface AppEntry {
  createApp: typeof createApp;
  serve: typeof serve;
}

export interface RunningService {
  url: string;
  /** The InfluxDB URL and database this instance writes to (a fresh database per instance). */
  influxUrl: string;
  database: string;
  app: NestExpressApplication;
  close(): Promise<void>;
}

/**
 * Starts the real application as main.ts does (createApp, then serve) on a free loopback port,
 * against the InfluxDB of the run (INFLUX_URL, set by global-setup) and a database of its own, so
 * that no test sees another's data. Every other variable has its shipped default unless `env`
 * overrides it.
 */
export async function startService(
  env: Record<string, string> = {},
  from: AppEntry = { createApp, serve },
): Promise<RunningService> {
  const influxUrl = process.env.INFLUX_URL;
  if (!influxUrl) throw new Error('INFLUX_URL is not set: run the e2e project through jest');
  const vars: Record<string, string> = {
    // A free port on loopback, not the shipped 20080 on every interface: tests run side by side.
    PORT: '0',
    HOST: '127.0.0.1',
    INFLUX_URL: influxUrl,
    INFLUX_DATABASE: uniqueDatabase(),
    ACCESS_JSON: join(REPO, 'access.json'),
    // Test output stays readable; test/logging.e2e-spec.ts checks the logs at their levels.
    LOG_LEVEL: 'silent',
    // A spool of its own, so that no instance replays another's events.
    SPOOL_DIR: mkdtempSync(join(tmpdir(), 'stats-spool-')),
    ...env,
  };
  const saved = new Map(SERVICE_VARS.map((name) => [name, process.env[name]]));
  for (const name of SERVICE_VARS) delete process.env[name];
  Object.assign(process.env, vars);
  let app: NestExpressApplication;
  try {
    app = await from.createApp();
  } finally {
    for (const [name, value] of saved) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  }
  const port = await from.serve(app);
  return {
    url: `http://127.0.0.1:${port}`,
    influxUrl: vars.INFLUX_URL!,
    database: vars.INFLUX_DATABASE!,
    app,
    close: () => app.close(),
  };
}

/**
 * createApp as `npm run build` made it (dist/): ts-jest does not run the @nestjs/swagger CLI
 * plugin, so the OpenAPI schemas derived from DTO classes exist only in the build.
 */
export async function builtApp(): Promise<AppEntry> {
  return (await import(join(REPO, 'dist', 'app.factory.js'))) as AppEntry;
}

/** POSTs JSON (or a raw string body) with the demo token unless headers say otherwise. */
export async function post(
  url: string,
  body: unknown,
  headers: Record<string, string> = AUTH,
): Promise<{ status: number; headers: Headers; body: unknown }> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: response.status, headers: response.headers, body: await parse(response) };
}

export async function get(
  url: string,
  headers: Record<string, string> = AUTH,
): Promise<{ status: number; headers: Headers; body: unknown }> {
  const response = await fetch(url, { headers });
  return { status: response.status, headers: response.headers, body: await parse(response) };
}

async function parse(response: Response): Promise<unknown> {
  const text = await response.text();
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/**
 * Starts a service for one describe block (beforeAll) and closes it and drops its database
 * afterwards; `before` runs once it is up. Returns an accessor for the running service.
 */
export function serviceFor(
  env: Record<string, string> = {},
  before?: (svc: RunningService) => Promise<void>,
): () => RunningService {
  const holder: { svc?: RunningService } = {};
  beforeAll(async () => {
    holder.svc = await startService(env);
    if (before) await before(holder.svc);
  });
  afterAll(async () => {
    if (!holder.svc) return;
    await holder.svc.close();
    await dropDatabase(holder.svc.influxUrl, holder.svc.database);
  });
  return () => holder.svc!;
}

/** Runs `count` tasks with at most `limit` in flight; results in task order. */
export async function inPool<T>(count: number, limit: number, task: (i: number) => Promise<T>) {
  const results: T[] = [];
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < count) {
      const i = next;
      next += 1;
      results[i] = await task(i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, count) }, worker));
  return results;
}

/**
 * `node dist/main.js` (the built service, as the Dockerfile runs it) on 127.0.0.1:`port`,
 * against the run's InfluxDB and `database`, with the repo's access.json and nothing else of
 * Jest's environment but PATH; stdout and stderr piped for the test to read.
 */
export function spawnBuiltService(port: number, database: string, logLevel: string) {
  const influxUrl = process.env.INFLUX_URL;
  if (!influxUrl) throw new Error('INFLUX_URL is not set: run the e2e project through jest');
  return spawn(process.execPath, [join(REPO, 'dist', 'main.js')], {
    cwd: REPO,
    env: {
      PATH: process.env.PATH ?? '',
      PORT: String(port),
      HOST: '127.0.0.1',
      INFLUX_URL: influxUrl,
      INFLUX_DATABASE: database,
      ACCESS_JSON: join(REPO, 'access.json'),
      LOG_LEVEL: logLevel,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}
