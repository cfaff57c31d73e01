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
import { MetricsService } from '../metrics/metrics.service';
import { BatchWriter } from './batch-writer';
import { influxConfig, InfluxConfig } from './influx.config';
import type { Point } from './line-protocol';
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

/**
 * Writes go to InfluxDB uncompressed: gzip cost more CPU than it saved in the benchmark (both
 * the service and InfluxDB spend it, usually on the same host or LAN).
 */
const NO_GZIP = Number.MAX_SAFE_INTEGER;

/**
 * The one wrapper around @influxdata/influxdb-client: nothing else imports it. Owns the client,
 * its keep-alive agent, the timeouts, and the write path of the configured API:
 * - v1 (InfluxDB 1.x): `POST /write?db=&rp=&precision=ns` through the client's transport;
 * - v2 (InfluxDB 1.8+/2.x/3.x/Cloud): the client's WriteApi, flushed once per call.
 * Reads are InfluxQL on `/query` in both modes.
 *
 * `write` resolves only once InfluxDB acknowledged the lines, and rejects with
 * InfluxUnavailableError (try later) or InfluxRefusedError (the data itself was refused).
 * Concurrent calls share writes (group commit, see BatchWriter); each still gets the outcome of
 * its own lines.
 */
@Injectable()
export class InfluxService implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger(InfluxService.name);
  private readonly agent: HttpAgent;
  private readonly client: InfluxDB;
  private readonly writeApi?: WriteApi;
  private readonly authHeaders: Record<string, string> = {};
  private readonly writePath: string;
  private databaseReady = false;
  private readonly batcher: BatchWriter;

  constructor(
    @Inject(influxConfig.KEY) private readonly config: InfluxConfig,
    private readonly metrics: MetricsService,
  ) {
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
    this.batcher = new BatchWriter((lines) => this.writeNow(lines), {
      maxLines: config.batchLines,
      // The WriteApi has a single buffer, so v2 writes go one at a time (see writeV2).
      maxInFlight: config.api === 'v2' ? 1 : config.writeConcurrency,
    });
    if (config.api === 'v2') {
      // Batching, timers and retries are ours (a client is answered only after its write), so
      // the WriteApi sends exactly what flush() finds in its buffer, once. It flushes by itself
      // (and swallows the outcome) when its buffer reaches batchSize lines: writeV2 never lets
      // it, since it adds at most batchLines lines before each flush.
      this.writeApi = this.client.getWriteApi(config.org ?? '', config.bucket!, 'ns', {
        batchSize: config.batchLines + 1,
        maxBatchBytes: Number.MAX_SAFE_INTEGER,
        flushInterval: 0,
        maxRetries: 0,
        gzipThreshold: NO_GZIP,
      });
    }
  }

  get mode(): string {
    return this.config.api;
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
    await this.batcher.drain();
    await this.writeApi?.close().catch(() => undefined);
    this.agent.destroy();
  }

  /** Stores the lines; resolves once InfluxDB acknowledged every one of them. */
  write(lines: string[]): Promise<void> {
    return this.batcher.write(lines);
  }

  /** One write to InfluxDB, measured (latency, lines, failures by kind). */
  private async writeNow(lines: string[]): Promise<void> {
    const stop = this.metrics.influxWriteDuration.startTimer();
    this.metrics.influxBatchLines.observe(lines.length);
    try {
      await this.writeUnmeasured(lines);
    } catch (error) {
      const kind = error instanceof InfluxRefusedError ? 'refused' : 'unavailable';
      this.metrics.influxWriteFailures.inc({ kind });
      throw error;
    } finally {
      stop();
    }
  }

  private async writeUnmeasured(lines: string[]): Promise<void> {
    if (this.writeApi) return this.writeV2(this.writeApi, lines);
    if (!this.databaseReady) await this.ensureDatabase().catch(() => undefined);
    try {
      await this.send(this.writePath, lines.join('\n'), 'POST', 'text/plain; charset=utf-8');
    } catch (error) {
      if (error instanceof InfluxRefusedError && /database not found/.test(error.message)) {
        // Someone dropped the database while we ran: create it again and retry once.
        this.databaseReady = false;
        await this.ensureDatabase().catch((cause: unknown) => {
          throw new InfluxUnavailableError(
            `database ${this.config.database} is missing and cannot be created: ${describe(cause)}`,
          );
        });
        await this.send(this.writePath, lines.join('\n'), 'POST', 'text/plain; charset=utf-8');
        return;
      }
      throw error;
    }
    // A user that may write but not CREATE DATABASE: the database exists, stop trying.
    this.databaseReady = true;
  }

  /** Runs InfluxQL; returns one result per statement (an InfluxQL error is in `error`). */
  async query(q: string, method: 'GET' | 'POST' = 'GET'): Promise<InfluxStatementResult[]> {
    const params = new URLSearchParams({ db: this.config.database, q });
    const body = (await this.send(`/query?${params.toString()}`, '', method)) as {
      results?: InfluxStatementResult[];
    };
    return body?.results ?? [];
  }

  /**
   * Deletes exactly these points (measurement, tags and nanosecond time). InfluxDB 1.x keeps
   * the valid points of a write it refuses in part ("partial write"); this undoes them when a
   * request must be all or nothing. Stamps are unique to this process, so nothing else matches.
   */
  async deletePoints(points: readonly Point[]): Promise<void> {
    const statements = points.map((point) => {
      const conditions = point.tags.map(
        ([key, value]) => `${quoteName(key)} = ${quoteString(value)}`,
      );
      conditions.push(`time = ${point.time}`);
      return `DELETE FROM ${quoteName(point.measurement)} WHERE ${conditions.join(' AND ')}`;
    });
    const results = await this.query(statements.join('; '), 'POST');
    const failed = results.find((result) => result.error);
    if (failed?.error) throw new InfluxRefusedError(failed.error, 400);
  }

  /** Resolves when InfluxDB answers its ping within `timeoutMs`. */
  async ping(timeoutMs: number): Promise<void> {
    await this.send('/ping', '', 'GET', undefined, AbortSignal.timeout(timeoutMs));
  }

  private async ensureDatabase(): Promise<void> {
    // v2 buckets are made by their owner; InfluxDB 1.x databases are created on demand.
    if (this.config.api === 'v2' || this.databaseReady) return;
    const [result] = await this.query(`CREATE DATABASE ${quoteName(this.config.database)}`, 'POST');
    if (result?.error) throw new InfluxRefusedError(result.error, 400);
    this.databaseReady = true;
  }

  /**
   * The WriteApi has one shared buffer; the batcher sends one batch at a time into it. A
   * submission larger than a batch (one big points array) goes out in chunks, each flushed and
   * awaited, so that the buffer never flushes by itself.
   */
  private async writeV2(writeApi: WriteApi, lines: string[]): Promise<void> {
    const size = this.config.batchLines;
    for (let start = 0; start < lines.length; start += size) {
      writeApi.writeRecords(lines.slice(start, start + size));
      try {
        await writeApi.flush();
      } catch (error) {
        throw classify(error);
      }
    }
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
    try {
      return await this.client.transport.request(path, body, options);
    } catch (error) {
      throw classify(error);
    }
  }
}

/** An InfluxQL identifier in double quotes. */
export function quoteName(name: string): string {
  return `"${name.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

/** An InfluxQL string literal in single quotes. */
export function quoteString(value: string): string {
  return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

/** Sorts a client failure into "try later" or "refused", keeping InfluxDB's own message. */
function classify(error: unknown): Error {
  if (error instanceof InfluxRefusedError || error instanceof InfluxUnavailableError) return error;
  if (error instanceof HttpError) {
    const message = influxMessage(error);
    const status = error.statusCode;
    // Only these say the data itself is wrong (400 and 422: a value or a type; 413: too much
    // at once, split and sent again). A missing database is ours to create. Anything else
    // (401/403: our credentials; 404: a bucket or path that is gone; 408, 429, 5xx) is an
    // outage for the caller: the events are kept and written later.
    if (status === 400 || status === 413 || status === 422) {
      return new InfluxRefusedError(message, status, parseFieldTypeConflict(message));
    }
    if (status === 404 && /database not found/.test(message)) {
      return new InfluxRefusedError(message, status);
    }
    return new InfluxUnavailableError(`InfluxDB answered ${status}`);
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
