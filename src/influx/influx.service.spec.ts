import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseInfluxConfig } from './influx.config';
import { InfluxService } from './influx.service';
import { renderLines } from './line-protocol';

/**
 * How InfluxService sorts InfluxDB's answers, against a stand-in HTTP server that answers what
 * each test scripts (what is stored is tested against the real InfluxDB in test/). Each request
 * is recorded: method, path, the InfluxQL `q` and the body.
 */
interface Seen {
  method: string;
  path: string;
  q: string | null;
  body: string;
  authorization?: string;
}

type Answer = { status: number; body?: unknown } | 'hang';

class StandIn {
  readonly seen: Seen[] = [];
  private server?: Server;
  url = '';

  constructor(private readonly answer: (seen: Seen) => Answer) {}

  async start(): Promise<this> {
    this.server = createServer((req: IncomingMessage, res: ServerResponse) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        const url = new URL(req.url ?? '/', 'http://stand-in');
        const seen: Seen = {
          method: req.method ?? '',
          path: url.pathname,
          q: url.searchParams.get('q'),
          body: Buffer.concat(chunks).toString('utf8'),
          authorization: req.headers.authorization,
        };
        this.seen.push(seen);
        const answer = this.answer(seen);
        if (answer === 'hang') return;
        const json = answer.body === undefined ? '' : JSON.stringify(answer.body);
        res.writeHead(answer.status, { 'Content-Type': 'application/json' }).end(json);
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  stop(): Promise<void> {
    this.server?.closeAllConnections();
    return new Promise((resolve) => this.server?.close(() => resolve()));
  }
}

const OK_QUERY = { status: 200, body: { results: [{ statement_id: 0 }] } };
const POINT = { measurement: 'm', tags: [['event', 'e']] as Array<[string, string]>, time: 5n };
const FIELDS = [[{ key: 'v', type: 'float' as const, value: 1.5 }]];
const PART = { lines: renderLines([POINT], FIELDS), start: 0, end: 1 };

describe(InfluxService.name, () => {
  const running: Array<{ stop(): Promise<void> }> = [];

  async function serviceFor(answer: (seen: Seen) => Answer, env: Record<string, string> = {}) {
    const standIn = await new StandIn(answer).start();
    const influx = new InfluxService(
      parseInfluxConfig({ INFLUX_URL: standIn.url, INFLUX_DATABASE: 'db', ...env }),
    );
    running.push(standIn, { stop: () => influx.onApplicationShutdown() });
    return { standIn, influx };
  }

  afterEach(async () => {
    for (const item of running.splice(0).reverse()) await item.stop();
  });

  describe('write', () => {
    it('sends the line protocol of its parts and resolves to undefined once acknowledged', async () => {
      const { standIn, influx } = await serviceFor((seen) =>
        seen.path === '/write' ? { status: 204 } : OK_QUERY,
      );
      const later = { lines: renderLines([{ ...POINT, time: 6n }], FIELDS), start: 0, end: 1 };

      await expect(influx.write([PART, later])).resolves.toBeUndefined();

      const writes = standIn.seen.filter((seen) => seen.path === '/write');
      expect(writes.map((seen) => seen.body)).toEqual(['m,event=e v=1.5 5\nm,event=e v=1.5 6']);
    });

    it('sends the lines its parts name out of a text, found by their ends, not by line breaks', async () => {
      const { standIn, influx } = await serviceFor((seen) =>
        seen.path === '/write' ? { status: 204 } : OK_QUERY,
      );
      const points = [7n, 8n, 9n].map((time) => ({ ...POINT, tags: [], time }));
      const fields = [
        [{ key: 'n', type: 'integer' as const, value: 2 }],
        [{ key: 's', type: 'string' as const, value: 'two\nlines' }],
        [{ key: 'b', type: 'boolean' as const, value: true }],
      ];
      const lines = influx.render(points, fields);
      expect(lines.text).toBe('m n=2i 7\nm s="two\nlines" 8\nm b=true 9');

      await expect(
        influx.write([
          { lines, start: 1, end: 3 },
          { lines, start: 0, end: 1 },
        ]),
      ).resolves.toBeUndefined();

      const writes = standIn.seen.filter((seen) => seen.path === '/write');
      expect(writes.map((seen) => seen.body)).toEqual(['m s="two\nlines" 8\nm b=true 9\nm n=2i 7']);
    });

    it('hands the v2 WriteApi the same lines, one by one', async () => {
      const { standIn, influx } = await serviceFor(
        (seen) => (seen.path === '/api/v2/write' ? { status: 204 } : OK_QUERY),
        { INFLUX_API: 'v2', INFLUX_TOKEN: 't', INFLUX_ORG: 'o', INFLUX_BUCKET: 'b' },
      );
      const points = [7n, 8n].map((time) => ({ ...POINT, tags: [], time }));
      const fields = [
        [{ key: 's', type: 'string' as const, value: 'two\nlines' }],
        [{ key: 'n', type: 'integer' as const, value: 2 }],
      ];

      await expect(
        influx.write([{ lines: influx.render(points, fields), start: 0, end: 2 }]),
      ).resolves.toBeUndefined();

      const writes = standIn.seen.filter((seen) => seen.path === '/api/v2/write');
      expect(writes.map((seen) => seen.body)).toEqual(['m s="two\nlines" 7\nm n=2i 8']);
    });

    it.each([400, 413, 422])(
      'sorts %d as the data refused, keeping what InfluxDB said',
      async (status) => {
        const { influx } = await serviceFor((seen) =>
          seen.path === '/write'
            ? { status, body: { error: 'partial write: it says why' } }
            : OK_QUERY,
        );

        await expect(influx.write([PART])).resolves.toEqual({
          kind: 'refused',
          status,
          detail: 'partial write: it says why',
        });
      },
    );

    it.each([401, 403])('sorts %d as the credentials refused, and remembers it', async (status) => {
      const { influx } = await serviceFor((seen) =>
        seen.path === '/write' ? { status, body: { error: 'authorization failed' } } : OK_QUERY,
      );

      await expect(influx.write([PART])).resolves.toEqual({ kind: 'credentials', status });
      expect(influx.credentials.problem()).toBe(
        `InfluxDB asks for credentials (${status}): INFLUX_USERNAME and INFLUX_PASSWORD are not set`,
      );
    });

    it.each([500, 503, 429, 408])('sorts %d as InfluxDB unavailable', async (status) => {
      const { influx } = await serviceFor((seen) =>
        seen.path === '/write' ? { status, body: { error: 'x' } } : OK_QUERY,
      );

      await expect(influx.write([PART])).resolves.toEqual({
        kind: 'unavailable',
        detail: `InfluxDB answered ${status}`,
      });
      expect(influx.credentials.refused).toBe(false);
    });

    it('creates the database when a v1 write answers 404, and writes once more', async () => {
      let missing = true;
      const { standIn, influx } = await serviceFor((seen) => {
        if (seen.path === '/query' && seen.q?.startsWith('CREATE DATABASE')) {
          missing = false;
          return OK_QUERY;
        }
        if (seen.path === '/write')
          return missing
            ? { status: 404, body: { error: 'database not found: "db"' } }
            : { status: 204 };
        return OK_QUERY;
      });
      await influx.onModuleInit(); // creates it
      const before = standIn.seen.length;
      missing = true; // dropped behind the service's back after start-up

      await expect(influx.write([PART])).resolves.toBeUndefined();

      expect(standIn.seen.slice(before).map((seen) => [seen.path, seen.q])).toEqual([
        ['/write', null],
        ['/query', 'CREATE DATABASE "db"'],
        ['/write', null],
      ]);
    });

    it('sorts no answer within INFLUX_TIMEOUT_MS as unavailable', async () => {
      // Override: the shortest timeout allowed, so that the test does not wait 10 s.
      const { influx } = await serviceFor(() => 'hang', { INFLUX_TIMEOUT_MS: '100' });

      await expect(influx.write([PART])).resolves.toEqual({
        kind: 'unavailable',
        detail: 'InfluxDB did not answer in time',
      });
    });

    it('sorts a refused connection as unreachable', async () => {
      const influx = new InfluxService(parseInfluxConfig({ INFLUX_URL: 'http://127.0.0.1:1' }));
      running.push({ stop: () => influx.onApplicationShutdown() });

      await expect(influx.write([PART])).resolves.toMatchObject({
        kind: 'unavailable',
        detail: expect.stringMatching(/^InfluxDB unreachable: .*ECONNREFUSED/) as unknown,
      });
    });

    it('sends basic auth from INFLUX_USERNAME and INFLUX_PASSWORD', async () => {
      const { standIn, influx } = await serviceFor(() => ({ status: 204 }), {
        INFLUX_USERNAME: 'u',
        INFLUX_PASSWORD: 'p',
      });

      await influx.write([PART]);

      expect(standIn.seen.at(-1)?.authorization).toBe(
        `Basic ${Buffer.from('u:p').toString('base64')}`,
      );
    });
  });

  describe('fieldTypes', () => {
    it('reads SHOW FIELD KEYS of the measurement, the first type of a field winning', async () => {
      const { standIn, influx } = await serviceFor(() => ({
        status: 200,
        body: {
          results: [
            {
              statement_id: 0,
              series: [
                {
                  name: 'm',
                  columns: ['fieldKey', 'fieldType'],
                  values: [
                    ['a', 'float'],
                    ['b', 'string'],
                    ['a', 'integer'],
                    ['c', 'unsigned'],
                  ],
                },
              ],
            },
          ],
        },
      }));

      await expect(influx.fieldTypes('my "m"')).resolves.toEqual({
        kind: 'ok',
        value: new Map([
          ['a', 'float'],
          ['b', 'string'],
        ]),
      });
      expect(standIn.seen[0]?.q).toBe('SHOW FIELD KEYS FROM "my \\"m\\""');
    });

    it('answers no fields when the query fails because the database is not there', async () => {
      const { standIn, influx } = await serviceFor((seen) =>
        seen.q === 'SHOW DATABASES'
          ? {
              status: 200,
              body: { results: [{ series: [{ columns: ['name'], values: [['other']] }] }] },
            }
          : {
              status: 200,
              body: { results: [{ statement_id: 0, error: 'database not found: db' }] },
            },
      );

      await expect(influx.fieldTypes('m')).resolves.toEqual({ kind: 'ok', value: new Map() });
      expect(standIn.seen.map((seen) => seen.q)).toEqual([
        'SHOW FIELD KEYS FROM "m"',
        'SHOW DATABASES',
      ]);
    });

    it('answers unavailable when the query fails although the database is there', async () => {
      const { influx } = await serviceFor((seen) =>
        seen.q === 'SHOW DATABASES'
          ? {
              status: 200,
              body: { results: [{ series: [{ columns: ['name'], values: [['db']] }] }] },
            }
          : { status: 200, body: { results: [{ statement_id: 0, error: 'something else' }] } },
      );

      await expect(influx.fieldTypes('m')).resolves.toMatchObject({ kind: 'unavailable' });
    });

    it('answers the credentials refused, and clears that once a query succeeds', async () => {
      let status = 401;
      const { influx } = await serviceFor(() => (status === 200 ? OK_QUERY : { status, body: {} }));

      await expect(influx.fieldTypes('m')).resolves.toEqual({ kind: 'credentials', status: 401 });
      expect(influx.credentials.refused).toBe(true);
      status = 200;
      await expect(influx.fieldTypes('m')).resolves.toMatchObject({ kind: 'ok' });
      expect(influx.credentials.refused).toBe(false);
    });
  });

  describe('newestEvent', () => {
    it('answers the newest row of the event query, with its non-empty tags and non-null fields', async () => {
      const { standIn, influx } = await serviceFor(() => ({
        status: 200,
        body: {
          results: [
            {
              statement_id: 0,
              series: [
                {
                  name: 'analytics',
                  tags: { event: 'old', host: '' },
                  columns: ['time', 'event_id', 'n', 'other'],
                  values: [['2026-01-01T00:00:00.5Z', 'x', 1, null]],
                },
                {
                  name: 'analytics',
                  tags: { event: 'new', host: '' },
                  columns: ['time', 'event_id', 'n', 'other'],
                  values: [['2026-01-01T00:00:00.50000001Z', 'x', 2, null]],
                },
              ],
            },
          ],
        },
      }));

      await expect(influx.newestEvent('analytics', 'x', { at: 7n })).resolves.toEqual({
        kind: 'ok',
        value: {
          time: '2026-01-01T00:00:00.50000001Z',
          tags: [['event', 'new']],
          fields: [
            ['event_id', 'x'],
            ['n', 2],
          ],
        },
      });
      expect(standIn.seen[0]?.q).toBe(
        `SELECT *::field FROM "analytics" WHERE "event_id" = 'x' AND time = 7 GROUP BY * ORDER BY time DESC LIMIT 1`,
      );
    });

    it('answers no event when nothing matches, and unavailable when InfluxDB does not answer', async () => {
      const { influx } = await serviceFor(() => OK_QUERY);
      const down = new InfluxService(parseInfluxConfig({ INFLUX_URL: 'http://127.0.0.1:1' }));
      running.push({ stop: () => down.onApplicationShutdown() });

      await expect(influx.newestEvent('analytics', 'x', {})).resolves.toEqual({
        kind: 'ok',
        value: undefined,
      });
      await expect(down.newestEvent('analytics', 'x', {})).resolves.toMatchObject({
        kind: 'unavailable',
      });
    });
  });

  describe('deletePoints', () => {
    it('deletes each point by its tags and time, in one request', async () => {
      const { standIn, influx } = await serviceFor(() => OK_QUERY);

      await expect(
        influx.deletePoints([POINT, { measurement: 'n', tags: [["it's", 'a\\b']], time: 9n }]),
      ).resolves.toBeUndefined();

      expect(standIn.seen).toMatchObject([
        {
          method: 'POST',
          q: `DELETE FROM "m" WHERE "event" = 'e' AND time = 5; DELETE FROM "n" WHERE "it's" = 'a\\\\b' AND time = 9`,
        },
      ]);
    });
  });

  describe('probeCredentials', () => {
    it('asks with an empty write, and clears the refusal when InfluxDB takes them', async () => {
      let status = 401;
      const { standIn, influx } = await serviceFor(() => ({ status }));
      await influx.write([PART]);
      expect(influx.credentials.refused).toBe(true);

      status = 204;
      await influx.probeCredentials(1000);

      expect(standIn.seen.at(-1)).toMatchObject({ method: 'POST', path: '/write', body: '' });
      expect(influx.credentials.refused).toBe(false);
    });
  });
});
