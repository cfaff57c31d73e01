/**
 * One per-replica rate, everywhere it appears: config/sizing.json holds the figures of the
 * latest benchmark run, and the autoscaler (config/k8s/hpa.yaml, its bounds and its comment) and
 * docs/OPERATIONS.md (the Sizing table, the InfluxDB bound, the Kubernetes section) must say the
 * same and derive the same numbers from them; docs/PERFORMANCE.md must hold the run they come
 * from. Update config/sizing.json from a new run, and this test says what else to change.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { readDocument } from './support/markdown';
import { REPO } from './support/service';

interface Sizing {
  eventsPerSecondPerReplica: { oneEventPerRequest: number; batchesOf100: number };
  spoolBytesPerEvent: { oneEventPerRequest: number; batchesOf100: number };
  fieldsPerEvent: number;
  influxdbOssFieldWritesPerSecond: number;
}

const sizing = JSON.parse(readFileSync(join(REPO, 'config', 'sizing.json'), 'utf8')) as Sizing;
const hpaText = readFileSync(join(REPO, 'config', 'k8s', 'hpa.yaml'), 'utf8');
const hpa = parse(hpaText) as { spec: { minReplicas: number; maxReplicas: number } };
const operations = readDocument('docs/OPERATIONS.md');
const performance = readDocument('docs/PERFORMANCE.md');

/** 39982 → "39,982", as the documents write numbers. */
const fmt = (n: number) => n.toLocaleString('en-US');
/** The default SPOOL_MAX_BYTES. */
const GIB = 2 ** 30;

const loads = [
  {
    row: '1 event per request',
    rate: sizing.eventsPerSecondPerReplica.oneEventPerRequest,
    bytes: sizing.spoolBytesPerEvent.oneEventPerRequest,
  },
  {
    row: '100 events per request',
    rate: sizing.eventsPerSecondPerReplica.batchesOf100,
    bytes: sizing.spoolBytesPerEvent.batchesOf100,
  },
];
const batched = sizing.eventsPerSecondPerReplica.batchesOf100;
const fieldWrites = (rate: number) => rate * sizing.fieldsPerEvent;
/** The most replicas a single InfluxDB 1.x OSS node takes at the batched rate, never below the floor. */
const maxReplicas = Math.max(
  hpa.spec.minReplicas,
  Math.floor(sizing.influxdbOssFieldWritesPerSecond / fieldWrites(batched)),
);

/** The first number in a table cell or a phrase: "about 1.8 minutes" → 1.8. */
function firstNumber(text: string): number {
  const match = /\d[\d,]*(?:\.\d+)?/.exec(text);
  if (match === null) throw new Error(`no number in "${text}"`);
  return Number(match[0].replace(/,/g, ''));
}

/** Within `share` of `expected` (the documents round). */
function near(actual: number, expected: number, share: number): boolean {
  return Math.abs(actual - expected) <= Math.abs(expected) * share;
}

describe('the per-replica rate (config/sizing.json)', () => {
  it('comes from the benchmark run that docs/PERFORMANCE.md records', () => {
    for (const { rate } of loads) expect(performance).toContain(fmt(rate));
  });

  it("is the rate of hpa.yaml's comment, whose bounds follow from it", () => {
    expect(hpaText).toContain(`about ${fmt(batched)} events/s per replica`);
    expect(hpa.spec.maxReplicas).toBe(maxReplicas);
    expect(hpaText).toContain(`${hpa.spec.minReplicas} at least`);
    expect(hpaText).toContain(`${hpa.spec.maxReplicas} at most`);
    // The comment's arithmetic: what the most replicas write, against the limit.
    const written = /write\s*#?\s*about ([\d,]+) field values\/s/.exec(hpaText);
    expect(written).not.toBeNull();
    expect(near(firstNumber(written![1]!), maxReplicas * fieldWrites(batched), 0.02)).toBe(true);
    expect(hpaText).toContain(fmt(sizing.influxdbOssFieldWritesPerSecond));
  });

  it('fills the Sizing table of docs/OPERATIONS.md, and every figure derived from it', () => {
    const table = operations.split('\n').filter((line) => line.startsWith('| '));
    for (const { row, rate, bytes } of loads) {
      const line = table.find((candidate) => candidate.startsWith(`| ${row} `));
      expect(line).toBeDefined();
      const cells = line!
        .split('|')
        .slice(2, -1)
        .map((cell) => cell.trim());
      const [events, spoolBytes, perMinute, lasts, writes] = cells as [
        string,
        string,
        string,
        string,
        string,
      ];
      const megabytesPerMinute = (rate * bytes * 60) / 1e6;
      expect({ row, events, spoolBytes }).toEqual({
        row,
        events: fmt(rate),
        spoolBytes: fmt(bytes),
      });
      expect({
        row,
        perMinute,
        ok: near(firstNumber(perMinute), megabytesPerMinute, 0.01),
      }).toEqual({ row, perMinute, ok: true });
      const minutes = GIB / (megabytesPerMinute * 1e6);
      expect({ row, lasts, ok: near(firstNumber(lasts), minutes, 0.05) }).toEqual({
        row,
        lasts,
        ok: true,
      });
      expect({ row, writes, ok: near(firstNumber(writes), fieldWrites(rate), 0.02) }).toEqual({
        row,
        writes,
        ok: true,
      });
    }
  });

  it('gives the InfluxDB bound of docs/OPERATIONS.md, and the replicas the manifests keep', () => {
    const limit = sizing.influxdbOssFieldWritesPerSecond;
    expect(operations).toContain(`beyond ${fmt(limit)} field writes per second`);
    const replicas = (limit / fieldWrites(batched)).toFixed(2);
    expect(operations).toContain(
      `That is ${replicas} replicas at the batched rate above\n  (${fmt(limit)} / ${fmt(fieldWrites(batched))} = ${replicas})`,
    );
    const perRequest = Math.floor(
      limit / fieldWrites(sizing.eventsPerSecondPerReplica.oneEventPerRequest),
    );
    expect(operations).toContain(`or ${perRequest} at one event per request`);
    expect(operations).toContain(`\`maxReplicas: ${hpa.spec.maxReplicas}\``);
    expect(operations).toContain(
      `keeps ${hpa.spec.minReplicas} to ${hpa.spec.maxReplicas} replicas at`,
    );
  });
});
