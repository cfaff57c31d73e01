/**
 * Types known through outages (issue 9): a field type conflict is answered the same whether
 * InfluxDB is up or stopped (400 for an event, a `rejected` entry in a batch, nothing stored of a
 * points array), also by a service restarted while InfluxDB is down, because what the service
 * learned of the schema is kept in SPOOL_DIR/schema.json and the types of spooled points count
 * as stored. Only what no service could know (another writer creating the field with another
 * type during the outage) is dead-lettered: once, counted once, and it can be sent again with
 * the pipeline of docs/OPERATIONS.md, "Dead letters". The real InfluxDB is stopped and started (down()/up()); a TCP gate in
 * front of it lets the spec play the other writer before the service sees InfluxDB again.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { promisify } from 'node:util';
import { join } from 'node:path';
import {
  influxQuery,
  startInfluxd,
  uniqueDatabase,
  writeLines,
  type InfluxdHandle,
} from './support/influxd';
import { DEMO_TOKEN, get, post, startService, type RunningService } from './support/service';
import { eventually, sleep, startGate, waitForStored, type Gate } from './support/spool';
import { SERVER_ID, unique } from './support/ids';

type Reply = Awaited<ReturnType<typeof post>>;

function conflictRule(field: string, stored: string, incoming: string): string {
  return `field type conflict: "${field}" of measurement "analytics" is stored as ${stored}, this value is ${incoming}`;
}

/** The 400 of an event whose field conflicts: it names the field and both types. */
function expectConflict(reply: Reply, field: string, stored: string, incoming: string): void {
  expect(reply).toMatchObject({
    status: 400,
    body: {
      statusCode: 400,
      error: 'Bad Request',
      message: `${field}: ${conflictRule(field, stored, incoming)}`,
      key: field,
      stored,
      incoming,
    },
  });
}

async function deadLetters(dir: string): Promise<Array<Record<string, unknown>>> {
  const text = await readFile(join(dir, 'dead-letter.jsonl'), 'utf8').catch(() => '');
  return text
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

async function deadLetteredTotal(svc: RunningService): Promise<number> {
  const reply = await get(`${svc.url}/metrics`, {});
  const match = /^stats_spool_dead_lettered_lines_total (\d+)$/m.exec(reply.body as string);
  return Number(match?.[1]);
}

describe('a field type conflict while InfluxDB is stopped', () => {
  let influxd: InfluxdHandle;
  let gate: Gate;
  let svc: RunningService;
  const spoolDir = mkdtempSync(join(tmpdir(), 'stats-schema-'));
  const database = uniqueDatabase();
  const env = () => ({
    INFLUX_URL: gate.url,
    INFLUX_DATABASE: database,
    SPOOL_DIR: spoolDir,
    SPOOL_DRAIN_LINES_PER_SECOND: '10000000',
  });
  /** Ids answered 200 or 202 that must end up in InfluxDB. */
  const acknowledged: string[] = [];
  const batchField = unique('g');
  const points = unique('pts');
  const other = unique('h');
  let otherWriterLoser = '';

  beforeAll(async () => {
    influxd = await startInfluxd();
    gate = await startGate(influxd.url);
    svc = await startService(env());
  });

  afterAll(async () => {
    await svc?.close();
    await gate?.stop();
    await influxd?.stop();
    await rm(spoolDir, { recursive: true, force: true });
  });

  it('learns a float field while InfluxDB is up', async () => {
    const reply = await post(`${svc.url}/log/event`, { event: 'learn', uid: 'u', amount: 1.5 });

    expect(reply.status).toBe(200);
    acknowledged.push(reply.body as string);
    await influxd.down();
  });

  it('answers 202 for {"f": true}, then 400 naming f and both types for {"f": 2}', async () => {
    const first = await post(`${svc.url}/log/event`, { event: 'e', uid: 'u', f: true });
    const second = await post(`${svc.url}/log/event`, { event: 'e', uid: 'u', f: 2 });

    expect(first).toMatchObject({ status: 202, body: expect.stringMatching(SERVER_ID) as unknown });
    acknowledged.push(first.body as string);
    expectConflict(second, 'f', 'boolean', 'float');
  });

  it('accepts one and rejects the other of a batch holding both', async () => {
    const reply = await post(`${svc.url}/log/events`, [
      { event: 'b', uid: 'u', [batchField]: 'text' },
      { event: 'b', uid: 'u', [batchField]: 3 },
    ]);

    expect(reply).toEqual({
      status: 202,
      headers: expect.anything() as unknown,
      body: {
        event_ids: [expect.stringMatching(SERVER_ID), null],
        rejected: [
          { index: 1, reason: `${batchField}: ${conflictRule(batchField, 'string', 'float')}` },
        ],
      },
    });
    acknowledged.push((reply.body as { event_ids: string[] }).event_ids[0]!);
  });

  it('refuses a points array that conflicts with a spooled point, and keeps none of it', async () => {
    const spooled = await post(`${svc.url}/log/event`, [
      { measurement: points, tags: { run: 'first' }, fields: { x: 1 } },
    ]);
    const refused = await post(`${svc.url}/log/event`, [
      { measurement: points, tags: { run: 'second' }, fields: { y: 1 } },
      { measurement: points, tags: { run: 'second' }, fields: { x: 'a' } },
    ]);

    expect(spooled).toMatchObject({ status: 202, body: 'OK' });
    expect(refused).toMatchObject({
      status: 400,
      body: { index: 1, key: 'fields.x', stored: 'float', incoming: 'string' },
    });
  });

  it('refuses a string for the field InfluxDB holds as float, also after a restart while down', async () => {
    const before = await post(`${svc.url}/log/event`, { event: 'e', uid: 'u', amount: 'str' });
    expectConflict(before, 'amount', 'float', 'string');

    await svc.close();
    svc = await startService(env());

    const after = await post(`${svc.url}/log/event`, { event: 'e', uid: 'u', amount: 'str' });
    expectConflict(after, 'amount', 'float', 'string');
    // What was spooled before the restart counts as stored too.
    const spooledType = await post(`${svc.url}/log/event`, { event: 'e', uid: 'u', f: 'no' });
    expectConflict(spooledType, 'f', 'boolean', 'string');
    const fine = await post(`${svc.url}/log/event`, { event: 'e', uid: 'u', amount: 2, f: false });
    expect(fine.status).toBe(202);
    acknowledged.push(fine.body as string);
  });

  it('dead-letters once, and counts once, what another writer made conflict during the outage', async () => {
    const loser = await post(`${svc.url}/log/event`, { event: 'e', uid: 'u', [other]: 'text' });
    expect(loser.status).toBe(202);
    otherWriterLoser = loser.body as string;

    // InfluxDB comes back, but the service cannot reach it before the other writer has written.
    await gate.set('refuse');
    await influxd.up();
    await writeLines(influxd.url, database, [
      `analytics,event=other ${other}=1 ${Date.now()}000000`,
    ]);
    await gate.set('open');

    await expect(waitForStored(influxd.url, database, acknowledged)).resolves.toEqual(
      [...acknowledged].sort(),
    );
    const letters = await eventually('one dead letter', async () => {
      const lines = await deadLetters(spoolDir);
      return lines.length > 0 ? lines : undefined;
    });
    // Several drainer rounds later, still one line and one count.
    await sleep(3000);
    await expect(deadLetters(spoolDir)).resolves.toEqual(letters);
    expect(letters).toEqual([
      {
        reason: `field ${other} is float, this value is string`,
        measurement: 'analytics',
        tags: { event: 'e' },
        fields: { uid: 'u', [other]: 'text', event_id: otherWriterLoser },
        time: expect.stringMatching(/^\d+$/) as unknown,
        event_id: otherWriterLoser,
      },
    ]);
    await expect(deadLetteredTotal(svc)).resolves.toBe(1);
    await expect(influxQuery(influxd.url, database, `SELECT * FROM "${points}"`)).resolves.toEqual([
      { time: expect.any(String) as unknown, run: 'first', x: 1 },
    ]);
    await expect(
      influxQuery(
        influxd.url,
        database,
        `SELECT "event_id" FROM "analytics" WHERE "event_id" = '${otherWriterLoser}'`,
      ),
    ).resolves.toEqual([]);
  });

  it('sends a dead letter again with the pipeline of docs/OPERATIONS.md, its conflicting field renamed', async () => {
    // The pipeline of docs/OPERATIONS.md ("Dead letters"), word for word but for the rename a user chooses.
    const pipeline = [
      `jq -c --arg f "$FIELD" 'del(.reason, .time, .event_id) | .fields[$f + "_text"] = .fields[$f] | del(.fields[$f])' "$SPOOL_DIR/dead-letter.jsonl"`,
      `jq -s .`,
      `curl -sS -X POST -H "Authorization: Token $TOKEN" --data-binary @- "$URL/log/event"`,
    ].join(' | ');
    // Asynchronously: the service answering curl runs in this process.
    const { stdout } = await promisify(execFile)('bash', ['-o', 'pipefail', '-c', pipeline], {
      env: { ...process.env, FIELD: other, SPOOL_DIR: spoolDir, TOKEN: DEMO_TOKEN, URL: svc.url },
      encoding: 'utf8',
    });

    expect(stdout).toBe('"OK"');
  });

  it('stores the resent point with its event id', async () => {
    const rows = await eventually('the resent point', async () => {
      const found = await influxQuery(
        influxd.url,
        database,
        `SELECT "event_id", "${other}_text" FROM "analytics" WHERE "event_id" = '${otherWriterLoser}'`,
      );
      return found.length > 0 ? found : undefined;
    });
    expect(rows).toEqual([
      {
        time: expect.any(String) as unknown,
        event_id: otherWriterLoser,
        [`${other}_text`]: 'text',
      },
    ]);
  });
});
