/**
 * Micro-benchmark behind the figures in src/http/exact-json.ts: typical bodies (one event of
 * about 100 bytes, batches of 100 and 500) parsed by JSON.parse, by parseExactJson, and read
 * from a request stream by body-parser's `json` against `raw` + parseExactJson. Prints the best
 * round of each;
 * checks nothing (no timing threshold belongs in a test). Run on an idle machine:
 *
 *   npx ts-node --transpile-only test/micro/json-body.ts
 */
import { json, raw, text } from 'body-parser';
import { Readable } from 'node:stream';
import { parseExactJson } from '../../src/http/exact-json';

// Best of 15 rounds: the least disturbed by other work on a shared machine.
const ROUNDS = 15;

function event(i: number, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    event: 'page_view',
    uid: `user-${1000 + (i % 97)}`,
    page: '/pricing',
    count: i % 10,
    ok: true,
    event_id: `0190f3a2-7c41-7b2e-9d4e-${String(100000000000 + i)}`,
    ...extra,
  };
}

const bodies: Array<[string, Buffer]> = [
  ['1 event', Buffer.from(JSON.stringify(event(1)))],
  ['100 events', Buffer.from(JSON.stringify(Array.from({ length: 100 }, (_, i) => event(i))))],
  ['500 events', Buffer.from(JSON.stringify(Array.from({ length: 500 }, (_, i) => event(i))))],
  [
    '100 events, escaped emoji',
    // As Python's json.dumps (ensure_ascii) writes a non-ASCII value: the careful path.
    Buffer.from(
      JSON.stringify(Array.from({ length: 100 }, (_, i) => event(i, { mood: '😀' }))).replace(
        /😀/g,
        '\\ud83d\\ude00',
      ),
    ),
  ],
  [
    '100 events, one big integer each',
    Buffer.from(
      JSON.stringify(Array.from({ length: 100 }, (_, i) => event(i, { n: 1 }))).replace(
        /"n":1/g,
        '"n":9007199254740993',
      ),
    ),
  ],
];

/** Best µs per call of `fn` over ROUNDS rounds of `iterations` calls. */
function measure(fn: () => unknown, iterations: number): number {
  for (let i = 0; i < iterations; i++) fn();
  const rounds: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    const start = process.hrtime.bigint();
    for (let i = 0; i < iterations; i++) fn();
    rounds.push(Number(process.hrtime.bigint() - start) / 1000 / iterations);
  }
  return Math.min(...rounds);
}

type Middleware = (req: unknown, res: unknown, next: (error?: unknown) => void) => void;

/** Best µs per request of a body-parser middleware reading `body` from a stream. */
async function measureReader(read: Middleware, body: Buffer, after: (parsed: unknown) => unknown) {
  const once = () =>
    new Promise<void>((resolve, reject) => {
      const req = Object.assign(Readable.from([body]), {
        headers: {
          'content-type': 'application/json',
          'content-length': String(body.length),
        },
      });
      read(req, {}, (error?: unknown) => {
        if (error) reject(error instanceof Error ? error : new Error('body-parser failed'));
        else {
          after((req as unknown as { body: unknown }).body);
          resolve();
        }
      });
    });
  const iterations = body.length > 20_000 ? 500 : 5000;
  for (let i = 0; i < iterations; i++) await once();
  const rounds: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    const start = process.hrtime.bigint();
    for (let i = 0; i < iterations; i++) await once();
    rounds.push(Number(process.hrtime.bigint() - start) / 1000 / iterations);
  }
  return Math.min(...rounds);
}

async function main(): Promise<void> {
  const format = (us: number) => `${us < 10 ? us.toFixed(2) : us.toFixed(0)} µs`;
  process.stdout.write('parse only (best µs per body)\n');
  for (const [name, body] of bodies) {
    const iterations = Math.max(200, Math.floor(2_000_000 / body.length));
    const decoded = body.toString('utf8');
    const parsed = measure(() => JSON.parse(decoded) as unknown, iterations);
    const decodeAndParse = measure(() => JSON.parse(body.toString('utf8')) as unknown, iterations);
    const exact = measure(() => parseExactJson(body), iterations);
    process.stdout.write(
      `  ${name.padEnd(34)} ${String(body.length).padStart(6)} B   JSON.parse(text) ${format(parsed)}   ` +
        `JSON.parse(decode) ${format(decodeAndParse)}   parseExactJson ${format(exact)}\n`,
    );
  }
  process.stdout.write('\nread from a stream and parse (best µs per request)\n');
  const limit = 10 * 1024 * 1024;
  const readers: Array<[string, Middleware, (parsed: unknown) => unknown]> = [
    ['body-parser json', json({ limit }) as Middleware, (parsed) => parsed],
    [
      'body-parser text + JSON.parse',
      text({ type: () => true, limit }) as Middleware,
      (parsed) => JSON.parse(parsed as string) as unknown,
    ],
    [
      'body-parser raw + parseExactJson',
      raw({ type: () => true, limit }) as Middleware,
      (parsed) => parseExactJson(parsed as Buffer),
    ],
  ];
  for (const [name, body] of bodies.slice(0, 3)) {
    const figures: string[] = [];
    for (const [reader, read, after] of readers) {
      figures.push(`${reader} ${format(await measureReader(read, body, after))}`);
    }
    process.stdout.write(`  ${name.padEnd(12)} ${figures.join('   ')}\n`);
  }
}

void main();
