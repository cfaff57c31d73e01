/**
 * Helpers for specs of the durable spool: bounded polling, and reading back from InfluxDB the
 * events a service acknowledged with 202 once the drainer has replayed them.
 */
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { influxQuery } from './influxd';

/** How long a spec waits for the drainer after InfluxDB came back (the brief's bound). */
export const DRAIN_WAIT_MS = 20_000;

/**
 * Calls `probe` until it returns something other than undefined, every `intervalMs`, for at most
 * `timeoutMs`; then throws with `what` and the last error, so that no spec waits forever.
 */
export async function eventually<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  timeoutMs = DRAIN_WAIT_MS,
  intervalMs = 100,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
      last = undefined;
    } catch (error) {
      last = error;
    }
    if (Date.now() >= deadline) {
      const reason = last instanceof Error ? `: ${last.message}` : '';
      throw new Error(`not within ${timeoutMs} ms: ${what}${reason}`);
    }
    await sleep(intervalMs);
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** An InfluxQL string literal in single quotes. */
export function quoted(value: string): string {
  return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

/** `event_id` of every point of `measurement` whose id is among `ids`, as InfluxDB holds them. */
export async function storedEventIds(
  influxUrl: string,
  database: string,
  ids: readonly string[],
  measurement = 'analytics',
): Promise<string[]> {
  if (ids.length === 0) return [];
  const found: string[] = [];
  // A bounded OR list per query keeps the URL short.
  for (let start = 0; start < ids.length; start += 50) {
    const where = ids
      .slice(start, start + 50)
      .map((id) => `"event_id" = ${quoted(id)}`)
      .join(' OR ');
    const rows = await influxQuery(
      influxUrl,
      database,
      `SELECT "event_id" FROM "${measurement}" WHERE ${where}`,
    );
    found.push(...rows.map((row) => row.event_id as string));
  }
  return found.sort();
}

/**
 * Waits (bounded) until every one of `ids` is in InfluxDB, each exactly once, and nothing else
 * of `ids` is; resolves to the sorted ids as stored.
 */
export async function waitForStored(
  influxUrl: string,
  database: string,
  ids: readonly string[],
  timeoutMs = DRAIN_WAIT_MS,
  measurement = 'analytics',
): Promise<string[]> {
  const wanted = [...ids].sort();
  let stored: string[] = [];
  try {
    return await eventually(
      `${wanted.length} acknowledged event(s) in InfluxDB`,
      async () => {
        stored = await storedEventIds(influxUrl, database, wanted, measurement);
        return stored.length >= wanted.length ? stored : undefined;
      },
      timeoutMs,
      200,
    );
  } catch (error) {
    const missing = wanted.filter((id) => !stored.includes(id));
    throw new Error(`${(error as Error).message}; missing: ${JSON.stringify(missing)}`);
  }
}

export type GateMode = 'open' | 'refuse' | 'hang';

export interface Gate {
  /** `http://127.0.0.1:<port>`: what the service gets as INFLUX_URL. */
  readonly url: string;
  /**
   * open: every connection is piped to the InfluxDB behind; refuse: connections are cut at once
   * (InfluxDB unreachable); hang: connections are accepted and never answered. Connections of
   * the previous mode are cut, and the returned promise waits a moment so that the service's
   * keep-alive agent has seen them close before the next request (else it may reuse one).
   */
  set(mode: GateMode): Promise<void>;
  stop(): Promise<void>;
}

/**
 * A TCP gate in front of a real InfluxDB, so that a spec decides exactly when the service can
 * reach it, while the spec itself writes to and reads from that InfluxDB directly.
 */
export async function startGate(upstream: string, mode: GateMode = 'open'): Promise<Gate> {
  const target = new URL(upstream);
  const sockets = new Set<Socket>();
  const track = (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
  };
  const server: Server = createServer((client) => {
    track(client);
    if (mode === 'refuse') return void client.destroy();
    if (mode === 'hang') return;
    const backend = connect(Number(target.port), target.hostname);
    track(backend);
    client.pipe(backend).pipe(client);
    const cut = () => {
      client.destroy();
      backend.destroy();
    };
    client.on('close', cut);
    backend.on('close', cut);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    async set(next: GateMode) {
      mode = next;
      for (const socket of sockets) socket.destroy();
      await sleep(50);
    },
    stop: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

/** 202, no Retry-After, a JSON body equal to what a 200 would have said. */
export function expectSpooled(
  reply: { status: number; headers: Headers; body: unknown },
  body: unknown,
): void {
  expect({
    status: reply.status,
    retryAfter: reply.headers.get('retry-after'),
    contentType: reply.headers.get('content-type'),
    body: reply.body,
  }).toEqual({
    status: 202,
    retryAfter: null,
    contentType: expect.stringMatching(/^application\/json/) as unknown,
    body,
  });
}

/** A TCP server that accepts connections and never answers: an InfluxDB that hangs. */
export async function startSilentServer(): Promise<{ url: string; stop(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    stop: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
