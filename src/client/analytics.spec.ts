import os from 'node:os';
import { Analytics } from './analytics';
import { StatsError } from './stats-error';
import type { StatsEvent } from './stats-event';

const TOKEN = 'tok_abc';
const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

interface Call {
  method: string;
  url: string;
  headers: Record<string, string>;
  body: unknown;
}

/** Replaces Node's fetch: records each request and answers with `answer(call)`. */
function fakeFetch(
  answer: (call: Call) => Response | Promise<Response> = () => json(200, 'entry_1'),
) {
  const calls: Call[] = [];
  jest.spyOn(globalThis, 'fetch').mockImplementation((input, init) => {
    const call: Call = {
      method: init?.method ?? 'GET',
      url: input as string,
      headers: { ...(init?.headers as Record<string, string>) },
      body: typeof init?.body === 'string' ? (JSON.parse(init.body) as unknown) : undefined,
    };
    calls.push(call);
    return Promise.resolve(answer(call));
  });
  return calls;
}

function json(status: number, body: unknown, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), { status, headers });
}

afterEach(() => jest.restoreAllMocks());

describe(Analytics.name, () => {
  describe('init() and stats()', () => {
    // First in the file: nothing has called init() yet.
    it('stats() before init() throws an error that says what to do', () => {
      expect(() => Analytics.stats()).toThrow(
        'Analytics.stats() was called before Analytics.init(): call Analytics.init({ url, accessToken }) once at start-up',
      );
    });

    it('init() returns the client that stats() then returns; a second init() replaces it', () => {
      const first = Analytics.init({ accessToken: TOKEN, defer: false });
      expect(Analytics.stats()).toBe(first);
      const second = Analytics.init({ accessToken: TOKEN, defer: false });
      expect(Analytics.stats()).toBe(second);
      expect(second).not.toBe(first);
    });
  });

  describe('defer: false', () => {
    it('POSTs the event with the token and the tags, and resolves to the id the service answered', async () => {
      const calls = fakeFetch(() => json(200, 'entry_0123456789abcdef0123456789abcdef'));
      const client = new Analytics({
        url: 'http://stats.internal:8080/',
        accessToken: TOKEN,
        defer: false,
        tags: { service: 'billing', uid: 'from-tags' },
      });
      await expect(client.log({ event: 'login', uid: 'oisin', ok: true })).resolves.toBe(
        'entry_0123456789abcdef0123456789abcdef',
      );
      expect(calls).toEqual([
        {
          method: 'POST',
          url: 'http://stats.internal:8080/log/event',
          headers: {
            Accept: 'application/json',
            'Content-Type': 'application/json',
            Authorization: `Token ${TOKEN}`,
          },
          // An event_id of its own, so that a resend is known for one.
          body: {
            service: 'billing',
            uid: 'oisin',
            event: 'login',
            ok: true,
            event_id: expect.stringMatching(UUID_V7) as unknown,
          },
        },
      ]);
    });

    it("rejects a refusal with a StatsError carrying the status and the service's message", async () => {
      const refusal = {
        statusCode: 400,
        error: 'Bad Request',
        message: 'a-b: keys must match ^[A-Za-z0-9_]+$',
      };
      fakeFetch(() => json(400, refusal));
      const client = new Analytics({ accessToken: TOKEN, defer: false });
      const error = (await client
        .log({ event: 'x', uid: '', 'a-b': 1 })
        .catch((e: unknown) => e)) as StatsError;
      expect(error).toBeInstanceOf(StatsError);
      expect(error).toMatchObject({
        name: 'StatsError',
        kind: 'refused',
        status: 400,
        message: refusal.message,
        body: refusal,
      });
    });

    it('rejects a 429 or 503 with the Retry-After it carried', async () => {
      fakeFetch(() => json(429, { message: 'slow down' }, { 'Retry-After': '7' }));
      const client = new Analytics({ accessToken: TOKEN, defer: false });
      await expect(client.log({ event: 'x', uid: '' })).rejects.toMatchObject({
        status: 429,
        retryAfterMs: 7000,
      });
    });

    it('rejects with kind "unreachable" and status 0 when no answer comes, without the token', async () => {
      jest
        .spyOn(globalThis, 'fetch')
        .mockRejectedValue(new TypeError('fetch failed', { cause: { code: 'ECONNREFUSED' } }));
      const client = new Analytics({ accessToken: TOKEN, defer: false });
      const error = (await client
        .log({ event: 'x', uid: '' })
        .catch((e: unknown) => e)) as StatsError;
      expect(error).toMatchObject({ kind: 'unreachable', status: 0 });
      expect(error.message).toBe(
        'stats-service POST http://localhost:20080/log/event: ECONNREFUSED',
      );
      expect(error.message).not.toContain(TOKEN);
    });

    it('gives up on a request after timeoutMs', async () => {
      jest
        .spyOn(globalThis, 'fetch')
        .mockImplementation(
          (_input, init) =>
            new Promise((_resolve, reject) =>
              init!.signal!.addEventListener('abort', () => reject(new Error('aborted'))),
            ),
        );
      const client = new Analytics({ accessToken: TOKEN, defer: false, timeoutMs: 50 });
      await expect(client.log({ event: 'x', uid: '' })).rejects.toMatchObject({
        kind: 'unreachable',
        message: 'stats-service POST http://localhost:20080/log/event: no answer within 50 ms',
      });
    });

    it('rejects an event that is not JSON (a cycle) without sending it', async () => {
      const calls = fakeFetch();
      const client = new Analytics({ accessToken: TOKEN, defer: false });
      const cyclic: Record<string, unknown> = {};
      cyclic.self = cyclic;
      await expect(
        client.log({ event: 'x', uid: '', nested: cyclic as never }),
      ).rejects.toMatchObject({ kind: 'invalid', status: 0 });
      expect(calls).toEqual([]);
    });
  });

  describe('defer: true', () => {
    it('resolves at once to a client-made event_id and sends it in a batch on flush()', async () => {
      const calls = fakeFetch(() => json(200, { event_ids: [], rejected: [] }));
      const client = new Analytics({ accessToken: TOKEN, tags: { env: 'test' } });
      const id = await client.log({ event: 'login', uid: 'u1' });
      const given = await client.log({ event: 'login', uid: 'u2', event_id: 'mine-1' });
      expect(id).toMatch(UUID_V7);
      expect(given).toBe('mine-1');
      expect(calls).toEqual([]);
      expect(client.pending).toBe(2);
      await client.flush();
      expect(calls.map(({ method, url, body }) => ({ method, url, body }))).toEqual([
        // The service's clock is not known yet: asked first (this one does not tell it).
        { method: 'GET', url: 'http://localhost:20080/ping', body: undefined },
        {
          method: 'POST',
          url: 'http://localhost:20080/log/events',
          body: [
            { env: 'test', event: 'login', uid: 'u1', event_id: id },
            { env: 'test', event: 'login', uid: 'u2', event_id: 'mine-1' },
          ],
        },
      ]);
      expect(client.pending).toBe(0);
    });

    it.each([
      ['oldest', ['e3', 'e4'], ['e1', 'e2']],
      ['newest', ['e1', 'e2'], ['e3', 'e4']],
    ] as const)(
      'dropPolicy %s: a full queue drops and reports, and counts',
      async (dropPolicy, sent, dropped) => {
        const calls = fakeFetch(() => json(200, { event_ids: [], rejected: [] }));
        const drops: Array<[string | undefined, string]> = [];
        const client = new Analytics({
          accessToken: TOKEN,
          maxQueue: 2,
          dropPolicy,
          onDrop: (event, reason) => drops.push([event.event_id, reason]),
        });
        for (const n of [1, 2, 3, 4]) await client.log({ event: 'x', uid: '', event_id: `e${n}` });
        expect(drops).toEqual(dropped.map((id) => [id, 'queue_full']));
        expect(client.dropped).toBe(2);
        await client.flush();
        const posted = calls.find((call) => call.method === 'POST')!;
        expect((posted.body as StatsEvent[]).map((event) => event.event_id)).toEqual(sent);
      },
    );

    it('after shutdown(), drops what is logged (reason shut_down) and sends nothing', async () => {
      const calls = fakeFetch();
      const drops: string[] = [];
      const client = new Analytics({
        accessToken: TOKEN,
        onDrop: (_event, reason) => drops.push(reason),
      });
      await expect(client.shutdown()).resolves.toEqual([]);
      await client.log({ event: 'late', uid: '' });
      await client.flush();
      expect(drops).toEqual(['shut_down']);
      expect(client.dropped).toBe(1);
      expect(calls).toEqual([]);
    });

    it('never throws into the caller: not for unserialisable events, nor for callbacks that throw', async () => {
      fakeFetch(() => json(400, { message: 'refused' }));
      const errors: string[] = [];
      const client = new Analytics({
        accessToken: TOKEN,
        maxQueue: 1,
        onDrop: () => {
          throw new Error('onDrop failed');
        },
        onError: (error) => {
          errors.push(`${error.kind}: ${error.message}`);
          throw new Error('onError failed');
        },
      });
      await client.log({ event: 'a', uid: '', big: BigInt(1) as never });
      await client.log({ event: 'b', uid: '' });
      await client.log({ event: 'c', uid: '' });
      await client.flush();
      expect(errors).toEqual([
        'invalid: the event cannot be sent as JSON: Do not know how to serialize a BigInt',
        'refused: refused',
      ]);
      expect(client.dropped).toBe(1);
    });
  });

  describe('without onError or onDrop: a warning on stderr, once per cause', () => {
    /** What the client warned, as Node would print it (process.emitWarning). */
    function warnings() {
      const spy = jest.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
      return () =>
        spy.mock.calls.map(([message, options]) => {
          const { code, type } = (options ?? {}) as { code?: string; type?: string };
          return { message: String(message), code, type };
        });
    }

    it("a refused token: one warning naming the status and the service's reason, never the token", async () => {
      const warned = warnings();
      fakeFetch(() =>
        json(401, { statusCode: 401, error: 'Unauthorized', message: 'unknown token' }),
      );
      const client = new Analytics({ accessToken: TOKEN, maxBatchEvents: 1 });
      for (const n of [1, 2, 3]) await client.log({ event: 'x', uid: '', n });
      await client.flush();

      expect(warned()).toEqual([
        {
          message:
            'stats-service refused the access token (401: unknown token); 1 event(s) not delivered: check accessToken (further events for the same cause are not reported: set onError and onDrop to see each)',
          code: 'STATS_SERVICE_REFUSED_401',
          type: 'StatsServiceWarning',
        },
      ]);
      expect(JSON.stringify(warned())).not.toContain(TOKEN);
    });

    it('a token outside its scopes (403) and a full queue: one warning each', async () => {
      const warned = warnings();
      fakeFetch(() =>
        json(403, { statusCode: 403, message: 'this token may not write events', scope: 'write' }),
      );
      const client = new Analytics({ accessToken: TOKEN, maxQueue: 1 });
      for (const n of [1, 2, 3]) await client.log({ event: 'x', uid: '', n });
      await client.flush();
      await client.log({ event: 'x', uid: '' });
      await client.flush();

      expect(warned().map((warning) => warning.code)).toEqual([
        'STATS_SERVICE_DROP_QUEUE_FULL',
        'STATS_SERVICE_REFUSED_403',
      ]);
      expect(warned()[0]!.message).toMatch(
        /^the queue is full \(maxQueue 1\): events are dropped \(dropPolicy oldest\)/,
      );
      expect(client.dropped).toBe(2);
    });

    it('says nothing on stderr when onError and onDrop are set: they are told instead', async () => {
      const warned = warnings();
      fakeFetch(() => json(401, { message: 'unknown token' }));
      const told: string[] = [];
      const client = new Analytics({
        accessToken: TOKEN,
        maxQueue: 1,
        onError: (error) => told.push(`error ${error.status}`),
        onDrop: (_event, reason) => told.push(`drop ${reason}`),
      });
      await client.log({ event: 'x', uid: '' });
      await client.log({ event: 'x', uid: '' });
      await client.flush();
      expect(told).toEqual(['drop queue_full', 'error 401']);
      expect(warned()).toEqual([]);
    });

    it('shutdown(): what is left is reported with why, to onError, or on stderr', async () => {
      fakeFetch(() =>
        json(503, { message: 'overloaded; retry after 5 s' }, { 'Retry-After': '5' }),
      );
      const told: Array<{ status: number; message: string; events: number }> = [];
      const reporting = new Analytics({
        accessToken: TOKEN,
        flushIntervalMs: 0,
        shutdownTimeoutMs: 40,
        onError: (error, events) =>
          told.push({ status: error.status, message: error.message, events: events.length }),
      });
      await reporting.log({ event: 'x', uid: '' });
      await reporting.log({ event: 'x', uid: '' });
      expect(await reporting.shutdown()).toHaveLength(2);
      expect(told).toEqual([
        {
          status: 503,
          message:
            '2 event(s) not delivered to stats-service within shutdownTimeoutMs (40 ms); the last try: overloaded; retry after 5 s',
          events: 2,
        },
      ]);

      const warned = warnings();
      const silent = new Analytics({
        accessToken: TOKEN,
        flushIntervalMs: 0,
        shutdownTimeoutMs: 40,
      });
      await silent.log({ event: 'x', uid: '' });
      expect(await silent.shutdown()).toHaveLength(1);
      expect(
        warned().map((warning) => [warning.code, warning.message.split(' (further')[0]]),
      ).toEqual([
        [
          'STATS_SERVICE_SHUTDOWN',
          '1 event(s) not delivered to stats-service within shutdownTimeoutMs (40 ms); the last try: overloaded; retry after 5 s',
        ],
      ]);
    });
  });

  describe('disabled: true', () => {
    it('sends nothing in either mode, needs no token, and still answers every call', async () => {
      const calls = fakeFetch();
      for (const defer of [true, false]) {
        const client = new Analytics({ disabled: true, defer, flushOnExit: true });
        await expect(client.log({ event: 'x', uid: '' })).resolves.toMatch(UUID_V7);
        await expect(client.log({ event: 'x', uid: '', event_id: 'mine' })).resolves.toBe('mine');
        await expect(client.systemStartup()).resolves.toMatch(UUID_V7);
        await expect(client.ping()).resolves.toEqual({ status: 'disabled' });
        await client.flush();
        await expect(client.shutdown()).resolves.toEqual([]);
        expect(client.pending).toBe(0);
      }
      expect(calls).toEqual([]);
    });
  });

  describe('ping()', () => {
    it("GETs /ping without the token and resolves to the service's answer", async () => {
      const answer = { status: 'ok', name: 'stats-service', version: '2.0.0' };
      const calls = fakeFetch(() => json(200, answer));
      const client = new Analytics({ accessToken: TOKEN });
      await expect(client.ping()).resolves.toEqual(answer);
      expect(calls.map(({ method, url, headers }) => ({ method, url, headers }))).toEqual([
        {
          method: 'GET',
          url: 'http://localhost:20080/ping',
          headers: { Accept: 'application/json' },
        },
      ]);
    });

    it('rejects with a StatsError when the answer is not a liveness answer', async () => {
      fakeFetch(() => new Response('<html>Bad Gateway</html>', { status: 502 }));
      const client = new Analytics({ accessToken: TOKEN });
      await expect(client.ping()).rejects.toMatchObject({
        kind: 'refused',
        status: 502,
        message: 'stats-service answered 502',
      });
    });
  });

  describe('systemStartup()', () => {
    it('logs server.start for this host with its first non-internal IPv4 address', async () => {
      jest.spyOn(os, 'hostname').mockReturnValue('web-7');
      jest.spyOn(os, 'networkInterfaces').mockReturnValue({
        lo: [{ address: '127.0.0.1', family: 'IPv4', internal: true } as os.NetworkInterfaceInfo],
        eth0: [
          { address: 'fe80::1', family: 'IPv6', internal: false } as os.NetworkInterfaceInfo,
          { address: '10.1.2.3', family: 'IPv4', internal: false } as os.NetworkInterfaceInfo,
        ],
        eth1: [{ address: '10.9.9.9', family: 'IPv4', internal: false } as os.NetworkInterfaceInfo],
      });
      const calls = fakeFetch(() => json(200, 'entry_1'));
      const client = new Analytics({ accessToken: TOKEN, defer: false });
      await expect(client.systemStartup()).resolves.toBe('entry_1');
      expect(calls[0]!.body).toEqual({
        event: 'server.start',
        event_id: expect.stringMatching(UUID_V7) as unknown,
        uid: 'system-web-7',
        hostname: 'web-7',
        ip: '10.1.2.3',
      });
    });
  });

  describe('flushOnExit', () => {
    it('listens to beforeExit and SIGTERM once for all its clients, and stops at shutdown()', async () => {
      fakeFetch();
      const before = {
        sigterm: process.listenerCount('SIGTERM'),
        beforeExit: process.listenerCount('beforeExit'),
      };
      const clients = [1, 2].map(() => new Analytics({ accessToken: TOKEN, flushOnExit: true }));
      expect(process.listenerCount('SIGTERM')).toBe(before.sigterm + 1);
      expect(process.listenerCount('beforeExit')).toBe(before.beforeExit + 1);
      await clients[0]!.shutdown();
      expect(process.listenerCount('SIGTERM')).toBe(before.sigterm + 1);
      await clients[1]!.shutdown();
      expect(process.listenerCount('SIGTERM')).toBe(before.sigterm);
      expect(process.listenerCount('beforeExit')).toBe(before.beforeExit);
    });
  });

  describe('time, on the service clock', () => {
    const HOUR_MS = 3_600_000;
    /** This machine's clock, an hour behind the service's (which answers LOCAL_MS + 1 h). */
    const LOCAL_MS = 1_796_282_700_000;

    let local = LOCAL_MS;
    beforeEach(() => (local = LOCAL_MS));

    /** An answer of the service, whose clock reads this one's plus an hour. */
    function telling(status: number, body: unknown): Response {
      return json(status, body, { 'X-Server-Time-Ms': String(local + HOUR_MS) });
    }

    it('asks the clock before the first batch and stamps each event when it was logged', async () => {
      const calls = fakeFetch((call) =>
        telling(200, call.method === 'GET' ? { status: 'ok' } : { event_ids: [], rejected: [] }),
      );
      const client = new Analytics({ accessToken: TOKEN, clock: () => local });
      await client.log({ event: 'a', uid: 'u' });
      local += 250;
      await client.log({ event: 'b', uid: 'u' });
      await client.flush();
      // The round trips took no time on this clock: the offset is exactly an hour.
      const posted = calls.filter((call) => call.method === 'POST');
      expect((posted[0]!.body as StatsEvent[]).map((event) => event.time)).toEqual([
        LOCAL_MS + HOUR_MS,
        LOCAL_MS + 250 + HOUR_MS,
      ]);
      // Known now: the next event is stamped when it is logged, without asking again.
      local += 10_000;
      await client.log({ event: 'c', uid: 'u' });
      await client.flush();
      expect(calls.filter((call) => call.method === 'GET')).toHaveLength(1);
      expect((calls.at(-1)!.body as StatsEvent[])[0]!.time).toBe(LOCAL_MS + 10_250 + HOUR_MS);
    });

    it('sends the same time and id on every resend', async () => {
      let posts = 0;
      const calls = fakeFetch((call) => {
        if (call.method === 'GET') return telling(200, { status: 'ok' });
        posts += 1;
        return posts === 1
          ? json(503, { message: 'later' }, { 'Retry-After': '0' })
          : telling(200, { event_ids: [], rejected: [] });
      });
      const client = new Analytics({ accessToken: TOKEN, clock: () => local, retryBaseMs: 1 });
      await client.log({ event: 'a', uid: 'u' });
      await client.flush();
      const bodies = calls.filter((call) => call.method === 'POST').map((call) => call.body);
      expect(bodies).toHaveLength(2);
      expect(bodies[1]).toEqual(bodies[0]);
      expect((bodies[0] as StatsEvent[])[0]!.time).toBe(LOCAL_MS + HOUR_MS);
    });

    it('keeps a time the caller gave', async () => {
      const calls = fakeFetch(() => telling(200, { event_ids: [], rejected: [] }));
      const client = new Analytics({ accessToken: TOKEN, clock: () => local });
      await client.log({ event: 'a', uid: 'u', time: '2026-12-03T07:00:00Z' });
      await client.flush();
      expect(calls.map((call) => call.method)).toEqual(['POST']);
      expect((calls[0]!.body as StatsEvent[])[0]!.time).toBe('2026-12-03T07:00:00Z');
    });
  });
});
