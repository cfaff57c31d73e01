import { EventEmitter } from 'node:events';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { MetricsService } from '../metrics/metrics.service';
import { parseHttpConfig } from './http.config';
import { bodyRead, WriteAdmission } from './write-admission';

/** A request and its response, as far as WriteAdmission looks at them. */
class FakeExchange extends EventEmitter {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  served = false;
  status?: number;
  headers: Record<string, string> = {};
  body?: string;
  destroyed = false;

  constructor(method: string, url: string) {
    super();
    this.req = { method, url } as IncomingMessage;
    const res = new EventEmitter() as EventEmitter & Record<string, unknown>;
    Object.defineProperty(res, 'destroyed', { get: () => this.destroyed });
    res.writeHead = (status: number, headers: Record<string, string>) => {
      this.status = status;
      this.headers = headers;
    };
    res.end = (body: string) => {
      this.body = body;
      res.emit('close');
    };
    this.res = res as unknown as ServerResponse;
  }

  /** The answer of a served write: its place is free. */
  answer(): void {
    this.res.emit('close');
  }
}

function admission(env: Record<string, string>) {
  const metrics = new MetricsService();
  const gate = new WriteAdmission(parseHttpConfig(env), metrics, { now: () => Date.now() });
  const send = (method = 'POST', url = '/log/event') => {
    const exchange = new FakeExchange(method, url);
    gate.admit(exchange.req, exchange.res, () => {
      exchange.served = true;
    });
    return exchange;
  };
  const shed = async () =>
    (await metrics.httpShed.get()).values.find((v) => v.labels.reason === 'admission_timeout')
      ?.value ?? 0;
  return { gate, send, shed };
}

describe(WriteAdmission.name, () => {
  beforeEach(() => jest.useFakeTimers({ now: 1_000_000 }));
  afterEach(() => jest.useRealTimers());

  it('serves reads, probes and other methods at once, even with every place taken', () => {
    const { send } = admission({ ADMISSION_CONCURRENCY: '1' });
    expect(send().served).toBe(true);
    expect(send('GET', '/ping').served).toBe(true);
    expect(send('GET', '/log/event/entry_1').served).toBe(true);
    expect(send('POST', '/ready').served).toBe(true);
    expect(send().served).toBe(false);
  });

  it('serves ADMISSION_CONCURRENCY writes at once, and the next when one is answered', () => {
    const { gate, send } = admission({ ADMISSION_CONCURRENCY: '2' });
    const [a, b, c] = [send(), send(), send('POST', '/LOG/EVENTS/')];
    expect([a.served, b.served, c.served]).toEqual([true, true, false]);
    expect(gate.waiting).toBe(1);
    a.answer();
    expect(c.served).toBe(false); // handed out in the next turn of the loop
    jest.advanceTimersByTime(0);
    expect(c.served).toBe(true);
    expect(gate.inService).toBe(2);
  });

  it('frees the place of a write whose body is read but not answered after 200 ms', () => {
    const { send } = admission({ ADMISSION_CONCURRENCY: '1' });
    const slow = send();
    const next = send();
    jest.advanceTimersByTime(500);
    expect(next.served).toBe(false); // its body was never read: it keeps its place
    bodyRead(slow.req, Date.now());
    jest.advanceTimersByTime(150);
    expect(next.served).toBe(false);
    jest.advanceTimersByTime(100);
    expect(next.served).toBe(true);
  });

  it('answers 503 with Retry-After a write that waited ADMISSION_TIMEOUT_MS, and not sooner', async () => {
    const { send, shed } = admission({ ADMISSION_CONCURRENCY: '1', ADMISSION_TIMEOUT_MS: '1000' });
    send();
    const late = send();
    jest.advanceTimersByTime(950);
    expect(late.status).toBeUndefined();
    jest.advanceTimersByTime(100);
    expect(late.status).toBe(503);
    expect(late.headers['Retry-After']).toBe('5');
    expect(JSON.parse(late.body!)).toEqual({
      statusCode: 503,
      error: 'Service Unavailable',
      message:
        'overloaded: this write waited 1000 ms for its turn (ADMISSION_TIMEOUT_MS) and was not read; nothing was stored, retry after 5 s',
      retryAfter: 5,
    });
    expect(late.served).toBe(false);
    expect(await shed()).toBe(1);
  });

  it('serves the line first in, first out while that makes the deadline', () => {
    const { send } = admission({ ADMISSION_CONCURRENCY: '1' });
    const first = send();
    const line = [send(), send(), send()];
    first.answer();
    jest.advanceTimersByTime(0);
    expect(line.map((w) => w.served)).toEqual([true, false, false]);
    line[0]!.answer();
    jest.advanceTimersByTime(0);
    expect(line.map((w) => w.served)).toEqual([true, true, false]);
  });

  it('serves the newest first once the line is too long to make the deadline in order', () => {
    const { send } = admission({ ADMISSION_CONCURRENCY: '1', ADMISSION_TIMEOUT_MS: '1000' });
    // One write answered every 100 ms: 10 writes a second.
    let current = send();
    const line = Array.from({ length: 20 }, () => send());
    for (let i = 0; i < 3; i++) {
      jest.advanceTimersByTime(100);
      current.answer();
      jest.advanceTimersByTime(0);
      current = line.find((w) => w.served && w !== current && w.status === undefined)!;
    }
    // 17 waiting at 10 a second is 1.7 s in order: newest first from now on.
    jest.advanceTimersByTime(50);
    current.answer();
    jest.advanceTimersByTime(0);
    expect(line.at(-1)!.served).toBe(true);
    expect(line[3]!.served).toBe(false);
  });

  it('does not count time the process did not run as waiting', () => {
    const { send } = admission({ ADMISSION_CONCURRENCY: '1', ADMISSION_TIMEOUT_MS: '1000' });
    const first = send();
    const waiting = send();
    jest.advanceTimersByTime(10);
    // Stopped for 6 s: the clock moves on, no timer runs.
    jest.setSystemTime(Date.now() + 6000);
    jest.advanceTimersByTime(50);
    expect(waiting.status).toBeUndefined();
    first.answer();
    jest.advanceTimersByTime(0);
    expect(waiting.served).toBe(true);
  });

  it('skips a write whose client went away while it waited', () => {
    const { send } = admission({ ADMISSION_CONCURRENCY: '1' });
    const first = send();
    const gone = send();
    const next = send();
    gone.destroyed = true;
    first.answer();
    jest.advanceTimersByTime(0);
    expect([gone.served, next.served]).toEqual([false, true]);
  });

  it('serves every write at once with ADMISSION_CONCURRENCY=0', () => {
    const { send } = admission({ ADMISSION_CONCURRENCY: '0' });
    expect(Array.from({ length: 100 }, () => send().served).every(Boolean)).toBe(true);
  });
});
