import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { InfluxDB, SendOptions, WriteApi, setLogger } from '@influxdata/influxdb-client';
import { Inject, Injectable, Logger, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import {
  describeFailure,
  type InfluxFailure,
  type InfluxFieldType,
  type InfluxRow,
  type Queried,
} from './influx.answers';
import { influxConfig, InfluxConfig } from './influx.config';
import { CredentialsWatch } from './credentials-watch';
import {
  createDatabase,
  deletePoints,
  eventQuery,
  SHOW_DATABASES,
  showFieldKeys,
  type TimeBounds,
} from './influxql';
import {
  partLines,
  partText,
  renderLines,
  type LineField,
  type LinePoint,
  type Lines,
  type WritePart,
} from './line-protocol';
import { fieldTypesOf, newestRow, parseQueryAnswer, type StatementResult } from './query-results';
import { classify, unavailable } from './classify';

/** Writes go uncompressed: in the benchmark gzip cost the service and InfluxDB more than it saved. */
const NO_GZIP = Number.MAX_SAFE_INTEGER;

/**
 * The one wrapper around @influxdata/influxdb-client: nothing else imports it, and nothing else
 * speaks HTTP to InfluxDB, builds its line protocol or its InfluxQL. Owns the client, its
 * keep-alive agent, the timeouts, and the write path of the configured API:
 * - v1 (InfluxDB 1.x): `POST /write?db=&rp=&precision=ns` through the client's transport;
 * - v2 (InfluxDB 1.8+/2.x/3.x/Cloud): the client's WriteApi, flushed once per call.
 * Reads are InfluxQL on `/query` in both modes.
 *
 * Every answer is a value (influx.answers.ts): a write resolves to undefined once InfluxDB
 * acknowledged it, or to its InfluxFailure, sorted by status. One write per call: batching,
 * splitting and retrying are the store's (store/point-writer.ts).
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
  /** Whether InfluxDB refuses the credentials, as the last authenticated answer said. */
  readonly credentials: CredentialsWatch;

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
    this.credentials = new CredentialsWatch(config, this.logger);
    const params = new URLSearchParams({ db: config.database, precision: 'ns' });
    if (config.retentionPolicy) params.set('rp', config.retentionPolicy);
    this.writePath =
      config.api === 'v2'
        ? `/api/v2/write?${new URLSearchParams({ org: config.org ?? '', bucket: config.bucket!, precision: 'ns' }).toString()}`
        : `/write?${params.toString()}`;
    if (config.api === 'v2') {
      // Batching, timers and retries are the store's (a client is answered only after its
      // write), so the WriteApi sends exactly what flush() finds in its buffer, once. It flushes
      // by itself (and swallows the outcome) when its buffer reaches batchSize lines: writeV2
      // never lets it, since it adds at most batchLines lines before each flush.
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

  /** Writes that may be in flight at once: the WriteApi has a single buffer (v2). */
  get maxConcurrentWrites(): number {
    return this.config.api === 'v2' ? 1 : this.config.writeConcurrency;
  }

  async onModuleInit(): Promise<void> {
    this.logger.log(
      `InfluxDB ${this.config.api} at ${this.config.url}, database ${this.config.database}`,
    );
    const failure = await this.ensureDatabase();
    // Not fatal: InfluxDB may come up after us. Writes try this again, /ready reports it.
    if (failure) this.logger.warn(`InfluxDB not ready at start-up: ${describeFailure(failure)}`);
  }

  async onApplicationShutdown(): Promise<void> {
    await this.writeApi?.close().catch(() => undefined);
    this.agent.destroy();
  }

  /** The points' lines, for a WritePart (renderLines). */
  render(points: readonly LinePoint[], fields: ReadonlyArray<readonly LineField[]>): Lines {
    return renderLines(points, fields);
  }

  /** One write of the parts' lines; undefined once InfluxDB acknowledged every one. */
  async write(parts: readonly WritePart[]): Promise<InfluxFailure | undefined> {
    const failure = this.writeApi
      ? await this.writeV2(this.writeApi, parts.flatMap(partLines))
      : await this.writeV1(parts.map(partText).join('\n'));
    this.credentials.saw(failure);
    return failure;
  }

  private async writeV1(body: string): Promise<InfluxFailure | undefined> {
    if (!this.databaseReady) await this.ensureDatabase();
    const answer = await this.send(this.writePath, body, 'POST', 'text/plain; charset=utf-8');
    if (answer.kind !== 'missing') return answer.kind === 'ok' ? undefined : answer;
    // 404 is InfluxDB 1.x's answer for a database that does not exist (dropped while we ran,
    // or not created at start-up): create it and write once more.
    this.databaseReady = false;
    const failed = await this.ensureDatabase();
    if (failed) return failed;
    const again = await this.send(this.writePath, body, 'POST', 'text/plain; charset=utf-8');
    if (again.kind === 'ok') return undefined;
    return again.kind === 'missing' ? unavailable('InfluxDB answered 404') : again;
  }

  /**
   * The WriteApi has one shared buffer; the store sends one write at a time into it. A write
   * larger than a batch (one big points array) goes out in chunks, each flushed and awaited, so
   * that the buffer never flushes by itself.
   */
  private async writeV2(writeApi: WriteApi, lines: string[]): Promise<InfluxFailure | undefined> {
    const size = this.config.batchLines;
    for (let start = 0; start < lines.length; start += size) {
      writeApi.writeRecords(lines.length <= size ? lines : lines.slice(start, start + size));
      try {
        await writeApi.flush();
      } catch (error) {
        const failure = classify(error, false);
        return failure === 'missing' ? unavailable('InfluxDB answered 404') : failure;
      }
    }
    return undefined;
  }

  /** The measurement's field types (none when the database is not there yet). */
  async fieldTypes(measurement: string): Promise<Queried<Map<string, InfluxFieldType>>> {
    const answer = await this.query(showFieldKeys(measurement));
    if (answer.kind !== 'ok') return answer;
    const [result] = answer.value;
    if (result?.error !== undefined) {
      // Before its first write a database may not exist (InfluxDB 1.x creates none by itself):
      // then no field is there. Whether it exists is asked, not read from the error.
      const databases = await this.query(SHOW_DATABASES);
      if (databases.kind !== 'ok') return databases;
      const names = databases.value[0]?.series?.[0]?.values.map((row) => row[0]) ?? [];
      if (!names.includes(this.config.database)) return { kind: 'ok', value: new Map() };
      return unavailable('InfluxDB answered SHOW FIELD KEYS with an error');
    }
    return { kind: 'ok', value: fieldTypesOf(result) };
  }

  /** The newest event with that id within `bounds`, if InfluxDB holds one. */
  async newestEvent(
    measurement: string,
    id: string,
    bounds: TimeBounds,
  ): Promise<Queried<InfluxRow | undefined>> {
    const answer = await this.query(eventQuery(measurement, id, bounds));
    if (answer.kind !== 'ok') return answer;
    const [result] = answer.value;
    // Nothing was ever written to a database that is not there: no event.
    if (result?.error !== undefined) return { kind: 'ok', value: undefined };
    return { kind: 'ok', value: newestRow(result) };
  }

  /**
   * Deletes exactly these points (measurement, tags and nanosecond time). InfluxDB 1.x keeps
   * the valid points of a write it refuses in part ("partial write"); this undoes them when a
   * request must be all or nothing. Stamps are unique to this process, so nothing else matches.
   */
  async deletePoints(points: readonly LinePoint[]): Promise<InfluxFailure | undefined> {
    const answer = await this.query(deletePoints(points), 'POST');
    if (answer.kind !== 'ok') return answer;
    const failed = answer.value.some((result) => result.error !== undefined);
    return failed ? { kind: 'refused', status: 200, detail: 'DELETE failed' } : undefined;
  }

  /** Undefined when InfluxDB answers its ping within `timeoutMs`, else why not. */
  async ping(timeoutMs: number): Promise<InfluxFailure | undefined> {
    const answer = await this.send('/ping', '', 'GET', undefined, AbortSignal.timeout(timeoutMs));
    if (answer.kind === 'ok') return undefined;
    return answer.kind === 'missing' ? unavailable('InfluxDB answered 404') : answer;
  }

  /**
   * Whether InfluxDB takes the credentials for a write now: an empty write, which InfluxDB
   * authenticates before it looks at the (absent) lines. Any answer but 401/403 says yes.
   */
  async probeCredentials(timeoutMs: number): Promise<void> {
    const signal = AbortSignal.timeout(timeoutMs);
    const answer = await this.send(this.writePath, '', 'POST', 'text/plain', signal);
    if (answer.kind !== 'unavailable') {
      this.credentials.saw(answer.kind === 'credentials' ? answer : undefined);
    }
  }

  /**
   * Runs InfluxQL built in influxql.ts; one result per statement (an InfluxQL error is in
   * `error`). The other methods are what the app asks; this is their one door to `/query`.
   */
  async query(q: string, method: 'GET' | 'POST' = 'GET'): Promise<Queried<StatementResult[]>> {
    const params = new URLSearchParams({ db: this.config.database, q });
    const answer = await this.send(`/query?${params.toString()}`, '', method);
    const result: Queried<StatementResult[]> =
      answer.kind === 'ok'
        ? { kind: 'ok', value: (answer.body as { results?: StatementResult[] })?.results ?? [] }
        : answer.kind === 'missing'
          ? unavailable('InfluxDB answered 404')
          : answer;
    this.credentials.saw(result.kind === 'ok' ? undefined : result);
    return result;
  }

  /** v2 buckets are made by their owner; InfluxDB 1.x databases are created on demand. */
  private async ensureDatabase(): Promise<InfluxFailure | undefined> {
    if (this.config.api === 'v2' || this.databaseReady) return undefined;
    const params = new URLSearchParams({ q: createDatabase(this.config.database) });
    // Not a sign of wrong credentials: a user that may write need not be allowed this (403).
    const answer = await this.send(`/query?${params.toString()}`, '', 'POST');
    if (answer.kind === 'missing') return unavailable('InfluxDB answered 404');
    if (answer.kind !== 'ok') return answer;
    const [result] = (answer.body as { results?: StatementResult[] })?.results ?? [];
    if (result?.error !== undefined) return { kind: 'refused', status: 200, detail: result.error };
    this.databaseReady = true;
    return undefined;
  }

  private async send(
    path: string,
    body: string,
    method: string,
    contentType?: string,
    signal?: AbortSignal,
  ): Promise<{ kind: 'ok'; body: unknown } | { kind: 'missing' } | InfluxFailure> {
    const options: SendOptions = { method, headers: { ...this.authHeaders }, signal };
    if (contentType) options.headers!['content-type'] = contentType;
    // InfluxDB answers a query in JSON whatever `*/*` accepts, and the transport then hands over
    // the bytes, not JSON.parse's rounding of them: parseQueryAnswer keeps integers exactly.
    const query = path.startsWith('/query');
    if (query) options.headers!.accept = '*/*';
    try {
      const raw: unknown = await this.client.transport.request(path, body, options);
      const answer = query && Buffer.isBuffer(raw) ? parseQueryAnswer(raw) : raw;
      // A write InfluxDB took: the database is there (a user that may write but not CREATE
      // DATABASE needs no more tries).
      if (path === this.writePath) this.databaseReady = true;
      return { kind: 'ok', body: answer };
    } catch (error) {
      const failure = classify(error, path === this.writePath && this.config.api === 'v1');
      return failure === 'missing' ? { kind: 'missing' } : failure;
    }
  }
}
