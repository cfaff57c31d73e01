/**
 * Micro-measure behind "Patterns made once" in docs/PERFORMANCE.md: the bytes a batched event
 * allocates on its way from a parsed body to a point (`parseEvent`, then `eventToPoint` with the
 * benchmark's event and the shipped defaults' limits), objects that die young included. Uses V8's
 * sampling heap profiler through the inspector, as the harness behind the figures did; prints
 * the bytes per event and the functions that allocate them. Checks nothing (allocation moves
 * with the Node version):
 *
 *   npx ts-node --transpile-only test/micro/event-allocation.ts
 */
import { Session } from 'node:inspector';
import { parseEventsConfig } from '../../src/events/events.config';
import { eventToPoint } from '../../src/events/event-point';
import { parseEvent } from '../../src/events/event.dto';

const EVENT = { event: 'user.login', uid: 'user-1234', plan: 'pro', amount: 12.5, ok: true };
const BATCH = 100;
const BODIES = 20_000;
/** Bytes between samples: small, so that a few hundred bytes an event are seen. */
const SAMPLING_INTERVAL = 512;

interface ProfileNode {
  callFrame: { functionName: string; url: string };
  selfSize: number;
  children: ProfileNode[];
}

const text = JSON.stringify(Array.from({ length: BATCH }, () => EVENT));
// The shipped defaults: no environment.
const { limits, tableName, tagKeys } = parseEventsConfig({});
const time = BigInt(Date.now()) * 1_000_000n;

/** Parses the body (JSON.parse: the body guard's fast path) and makes a point of every event. */
function run(bodies: number, withPoint: boolean): number {
  let fields = 0;
  for (let b = 0; b < bodies; b++) {
    for (const event of JSON.parse(text) as Array<Record<string, unknown>>) {
      const parsed = parseEvent(event, limits);
      fields += withPoint
        ? eventToPoint(parsed, tableName, tagKeys, time).fields.length
        : parsed.values.length;
    }
  }
  return fields;
}

function post<T>(session: Session, method: string, params?: object): Promise<T> {
  return new Promise((resolve, reject) =>
    session.post(method, params, (error, result) => (error ? reject(error) : resolve(result as T))),
  );
}

async function measure(session: Session, withPoint: boolean): Promise<void> {
  run(2_000, withPoint); // optimised before it is measured
  await post(session, 'HeapProfiler.startSampling', {
    samplingInterval: SAMPLING_INTERVAL,
    includeObjectsCollectedByMajorGC: true,
    includeObjectsCollectedByMinorGC: true,
  });
  run(BODIES, withPoint);
  const { profile } = await post<{ profile: { head: ProfileNode } }>(
    session,
    'HeapProfiler.stopSampling',
  );
  const bySite = new Map<string, number>();
  let total = 0;
  const walk = (node: ProfileNode): void => {
    const { functionName, url } = node.callFrame;
    const site = `${functionName || '(anonymous)'} ${url.replace(/^.*\/(src|test)\//, '$1/')}`;
    bySite.set(site, (bySite.get(site) ?? 0) + node.selfSize);
    total += node.selfSize;
    node.children.forEach(walk);
  };
  walk(profile.head);
  const events = BODIES * BATCH;
  const what = withPoint ? 'JSON.parse + parseEvent + eventToPoint' : 'JSON.parse + parseEvent';
  process.stdout.write(`${what}: ${Math.round(total / events)} bytes an event\n`);
  for (const [site, bytes] of [...bySite].sort((a, b) => b[1] - a[1]).slice(0, 6)) {
    if (bytes / events >= 1)
      process.stdout.write(`  ${String(Math.round(bytes / events)).padStart(5)}  ${site}\n`);
  }
}

async function main(): Promise<void> {
  const session = new Session();
  session.connect();
  await post(session, 'HeapProfiler.enable');
  await measure(session, false);
  await measure(session, true);
  session.disconnect();
}

void main();
