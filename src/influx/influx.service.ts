import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import {
  HttpError,
  InfluxDB,
  RequestTimedOutError,
  SendOptions,
  WriteApi,
  setLogger,
} from '@influxdata/influxdb-client';
import { Inject, Injectable, Logger, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { influxConfig, InfluxConfig } from './influx.config';
import {
  InfluxRefusedError,
  InfluxUnavailableError,
  parseFieldTypeConflict,
} from './influx.errors';

/** One statement's answer from `/query`. */
export interface InfluxStatementResult {
  error?: string;
  series?: Array<{
    name?: string;
    tags?: Record<string, string>;
    columns: string[];
    values: unknown[][];
  }>;
}

/** Bodies above this size are gzipped on their way to InfluxDB. */
const GZIP_THRESHOLD = 64 * 1024;

/**
 * The one wrapper around @influxdata/influxdb-client: nothing else imports it. Owns the client,
 * its keep-alive agent, the timeouts, and the write path of the configured API:
 * - v1 (InfluxDB 1.x): `POST /write?db=&rp=&precision=ns` through the client's transport;
 * - v2 (InfluxDB 1.8+/2.x/3.x/Cloud): the client's WriteApi, flushed once per call.
 * Reads are InfluxQL on `/query` in both modes.
 *
 * `write` resolves only once InfluxDB acknowledged the lines, and rejects with
 * InfluxUnavailableError (try later) or InfluxRefusedError (the data itself was refused).
 * A batching writer can sit in front of it without changing that contract.
 */
@Injectable()
export class InfluxService implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger(InfluxService.name);
  private readonly agent: HttpAgent;
  private readonly client: InfluxDB;
  private readonly writeApi?: WriteApi;
  private readonly authHeaders: Record<string, string> = {};
  private readonly writePath: string;
  /** The WriteApi has one shared buffer: its writes must not interleave (see writeV2). */
  private v2Queue: Promise<unknown> = Promise.resolve();
  private databaseReady = false;

  constructor(@Inject(influxConfig.KEY) private readonly config: InfluxConfig) {
    const agentOptions = { keepAlive: true, maxSockets: 16, keepAliveMsecs: 10_000 };
    this.agent = config.url.startsWith('https:')
      ? new HttpsAgent(agentOptions)
      : new HttpAgent(agentOptions);
    this.client = new InfluxDB({
      url: config.url,
      token: config.api === 'v2' ? config.token : undefined,
      timeout: config.timeoutMs,
      transportOptions: { agent: this.agent },
    });
    // The client logs failures to the console by itself; every failure here is already
    // reported to the caller, so its own lines go to our logger at debug level.
    setLogger({
      error: (message: string) => this.logger.debug(`influxdb-client: ${message}`),
      warn: (message: string) => this.logger.debug(`influxdb-client: ${message}`),
    });
    if (config.username !== undefined && config.password !== undefined) {
      const basic = Buffer.from(`${config.username}:${config.password}`).toString('base64');
      this.authHeaders.authorization = `Basic ${basic}`;
    }
    const params = new URLSearchParams({ db: config.database, precision: 'ns' });
    if (config.retentionPolicy) params.set('rp', config.retentionPolicy);
    this.writePath = `/write?${params.toString()}`;
    if (config.api === 'v2') {
      // Batching, timers and retries are ours (the caller answers its client only after the
      // write), so the WriteApi sends exactly what flush() finds in its buffer, once.
      this.writeApi = this.client.getWriteApi(config.org ?? '', config.bucket!, 'ns', {
        batchSize: Number.MAX_SAFE_INTEGER,
        maxBatchBytes: Number.MAX_SAFE_INTEGER,
        flushInterval: 0,
        maxRetries: 0,
        gzipThreshold: GZIP_THRESHOLD,
      });
    }
  }

  get mode(): string {
    return this.config.api;
  }

  get database(): string {
    return this.config.database;
  }

  async onModuleInit(): Promise<void> {
    this.logger.log(
      `InfluxDB ${this.config.api} at ${this.config.url}, database ${this.config.database}`,
    );
    try {
      await this.ensureDatabase();
    } catch (error) {
      // Not fatal: InfluxDB may come up after us. Writes retry this, /ready reports it.
      this.logger.warn(`InfluxDB not ready at start-up: ${describe(error)}`);
    }
  }

  async onApplicationShutdown(): Promise<void> {
    await this.v2Queue.catch(() => undefined);
    await this.writeApi?.close().catch(() => undefined);
    this.agent.destroy();
  }

  /** Stores the lines; resolves once InfluxDB acknowledged every one of them. */
  async write(lines: string[]): Promise<void> {
    if (lines.length === 0) return;
    if (this.writeApi) return this.writeV2(this.writeApi, lines);
    if (!this.databaseReady) await this.ensureDatabase().catch(() => undefined);
    try {
      await this.send(this.writePath, lines.join('\n'), 'POST', 'text/plain; charset=utf-8');
    } catch (error) {
      if (error instanceof InfluxRefusedError && /database not found/.test(error.message)) {
        // Someone dropped the database while we ran: create it again and retry once.
        this.databaseReady = false;
        await this.ensureDatabase();
        await this.send(this.writePath, lines.join('\n'), 'POST', 'text/plain; charset=utf-8');
        return;
      }
      throw error;
    }
  }

  /** Runs InfluxQL; returns one result per statement (an InfluxQL error is in `error`). */
  async query(q: string, method: 'GET' | 'POST' = 'GET'): Promise<InfluxStatementResult[]> {
    const params = new URLSearchParams({ db: this.config.database, q });
    const body = (await this.send(`/query?${params.toString()}`, '', method)) as {
      results?: InfluxStatementResult[];
    };
    return body?.results ?? [];
  }

  /** Resolves when InfluxDB answers its ping within `timeoutMs`. */
  async ping(timeoutMs: number): Promise<void> {
    await this.send('/ping', '', 'GET', undefined, AbortSignal.timeout(timeoutMs));
  }

  private async ensureDatabase(): Promise<void> {
    // v2 buckets are made by their owner; InfluxDB 1.x databases are created on demand.
    if (this.config.api === 'v2' || this.databaseReady) return;
    const [result] = await this.query(`CREATE DATABASE "${this.config.database}"`, 'POST');
    if (result?.error) throw new InfluxRefusedError(result.error, 400);
    this.databaseReady = true;
  }

  private writeV2(writeApi: WriteApi, lines: string[]): Promise<void> {
    const run = async (): Promise<void> => {
      writeApi.writeRecords(lines);
      try {
        await writeApi.flush();
      } catch (error) {
        throw classify(error);
      }
    };
    const result = this.v2Queue.then(run, run);
    this.v2Queue = result.catch(() => undefined);
    return result;
  }

  private async send(
    path: string,
    body: string,
    method: string,
    contentType?: string,
    signal?: AbortSignal,
  ): Promise<unknown> {
    const options: SendOptions = { method, headers: { ...this.authHeaders }, signal };
    if (contentType) options.headers!['content-type'] = contentType;
    if (body.length > GZIP_THRESHOLD) options.gzipThreshold = GZIP_THRESHOLD;
    try {
      return await this.client.transport.request(path, body, options);
    } catch (error) {
      throw classify(error);
    }
  }
}

/** Sorts a client failure into "try later" or "refused", keeping InfluxDB's own message. */
function classify(error: unknown): Error {
  if (error instanceof InfluxRefusedError || error instanceof InfluxUnavailableError) return error;
  if (error instanceof HttpError) {
    const message = influxMessage(error);
    // 401/403 mean our credentials are wrong: an outage for the caller, not bad data.
    if (
      error.statusCode >= 500 ||
      error.statusCode === 429 ||
      error.statusCode === 401 ||
      error.statusCode === 403
    ) {
      return new InfluxUnavailableError(`InfluxDB answered ${error.statusCode}: ${message}`);
    }
    return new InfluxRefusedError(message, error.statusCode, parseFieldTypeConflict(message));
  }
  if (error instanceof RequestTimedOutError) {
    return new InfluxUnavailableError('InfluxDB did not answer in time');
  }
  return new InfluxUnavailableError(`InfluxDB unreachable: ${describe(error)}`);
}

function influxMessage(error: HttpError): string {
  const json = error.json as { error?: unknown; message?: unknown } | undefined;
  if (typeof json?.error === 'string') return json.error;
  if (typeof json?.message === 'string') return json.message;
  return error.body || error.message;
}

export function describe(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as NodeJS.ErrnoException).code;
    return code ? `${error.message} (${code})` : error.message;
  }
  return String(error);
}
