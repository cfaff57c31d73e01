import { NotFoundException, PayloadTooLargeException } from '@nestjs/common';
import { RetryLaterException } from '../http/retry-later.exception';
import { MetricsService } from '../metrics/metrics.service';
import { EventStamper } from '../stamps/event-stamper';
import { PointClock } from '../stamps/point-clock';
import type { RetentionBound } from '../stamps/retention';
import { parseStampsConfig } from '../stamps/stamps.config';
import { parseSpoolConfig } from '../spool/spool.config';
import type { Point } from '../store/point';
import type { StoreService } from '../store/store.service';
import type { ReadOutcome, StoreOutcome } from '../store/store.outcomes';
import { parseEventsConfig } from './events.config';
import { EventsService } from './events.service';
import { Refusal } from '../http/refusal';

/** The store as EventsService sees it: it answers what the test scripts, and records points. */
class ScriptedStore {
  outcome: StoreOutcome = { kind: 'stored' };
  each: (points: readonly Point[]) => StoreOutcome[] = (points) => points.map(() => this.outcome);
  read: ReadOutcome = { kind: 'not_found' };
  readonly stored: Point[][] = [];
  readonly reads: Array<[string, unknown]> = [];

  store(points: readonly Point[]): Promise<StoreOutcome> {
    this.stored.push([...points]);
    return Promise.resolve(this.outcome);
  }

  storeEach(points: readonly Point[]): Promise<StoreOutcome[]> {
    this.stored.push([...points]);
    return Promise.resolve(this.each(points));
  }

  find(id: string, policy: unknown): Promise<ReadOutcome> {
    this.reads.push([id, policy]);
    return Promise.resolve(this.read);
  }
}

const CONFLICT = {
  kind: 'type_conflict',
  conflict: {
    kind: 'type_conflict',
    measurement: 'analytics',
    field: 'n',
    stored: 'string',
    incoming: 'float',
  },
} as const;

async function thrown(run: () => Promise<unknown>): Promise<unknown> {
  try {
    await run();
  } catch (error) {
    return error;
  }
  throw new Error('it did not throw');
}

describe(EventsService.name, () => {
  let store: ScriptedStore;
  let metrics: MetricsService;
  let events: EventsService;

  beforeEach(() => {
    store = new ScriptedStore();
    metrics = new MetricsService();
    events = new EventsService(
      parseEventsConfig({}),
      store as unknown as StoreService,
      // The smallest index allowed: these events carry few client ids; no retention bound read.
      new EventStamper(
        new PointClock(),
        { current: undefined } as RetentionBound,
        parseStampsConfig({ DEDUP_MAX_EVENTS: '1000' }),
        parseSpoolConfig({}),
      ),
      metrics,
    );
  });

  /** stats_events_total's series, as `outcome/reason value`. */
  async function counted(): Promise<string[]> {
    const body = (await metrics.render()).body;
    return [...body.matchAll(/^stats_events_total\{outcome="(\w+)",reason="(\w*)"\} (\d+)$/gm)]
      .map(([, outcome, reason, value]) => `${outcome}/${reason} ${value}`)
      .sort();
  }

  it('stores an event as one point and answers its id, counted as stored or spooled', async () => {
    const stored = await events.logEvent({ event: 'e', uid: 'u', n: 1 });
    store.outcome = { kind: 'spooled' };
    const spooled = await events.logEvent({ event: 'e', uid: 'u' });

    expect(stored).toEqual({
      id: expect.stringMatching(/^entry_[0-9a-f]{32}$/) as unknown,
      outcome: 'stored',
      duplicate: false,
    });
    expect(spooled.outcome).toBe('spooled');
    expect(store.stored[0]![0]).toMatchObject({ measurement: 'analytics', eventId: stored.id });
    await expect(counted()).resolves.toEqual(['spooled/ 1', 'stored/ 1']);
  });

  it.each<[string, StoreOutcome, number, string]>([
    ['a type conflict', CONFLICT, 400, 'type_conflict'],
    ['a refusal by InfluxDB', { kind: 'refused', status: 400 }, 400, 'invalid'],
    ['a full spool', { kind: 'spool_full', retryAfterSeconds: 9 }, 503, 'spool_full'],
    [
      'a spool that cannot be written',
      { kind: 'spool_unavailable', retryAfterSeconds: 5 },
      503,
      'unavailable',
    ],
  ])('answers %s with its status and counts its reason', async (_case, outcome, status, reason) => {
    store.outcome = outcome;

    const error = await thrown(() => events.logEvent({ event: 'e', uid: 'u', n: 1 }));

    expect((error as Refusal | RetryLaterException).getStatus()).toBe(status);
    await expect(counted()).resolves.toEqual([`refused/${reason} 1`]);
  });

  it('names the field and both types of a conflict, and the index for points', async () => {
    store.outcome = { ...CONFLICT, index: 1 };

    const error = (await thrown(() =>
      events.logPoints([
        { measurement: 'm', fields: { a: 1 } },
        { measurement: 'm', fields: { n: 2 } },
      ]),
    )) as Refusal;

    expect(error.getResponse()).toMatchObject({
      index: 1,
      key: 'fields.n',
      stored: 'string',
      incoming: 'float',
      message: expect.stringContaining('[1].fields.n: field type conflict') as unknown,
    });
    await expect(counted()).resolves.toEqual(['refused/type_conflict 2']);
  });

  it('answers Retry-After with the seconds the store gave', async () => {
    store.outcome = { kind: 'spool_full', retryAfterSeconds: 9 };

    const error = (await thrown(() =>
      events.logEvent({ event: 'e', uid: 'u' }),
    )) as RetryLaterException;

    expect(error.retryAfterSeconds).toBe(9);
  });

  it('refuses an invalid event before the store sees it, counted as invalid', async () => {
    await expect(events.logEvent({ uid: 'u' })).rejects.toBeInstanceOf(Refusal);

    expect(store.stored).toEqual([]);
    await expect(counted()).resolves.toEqual(['refused/invalid 1']);
  });

  describe('a batch', () => {
    it('answers each event by its index, counting each outcome once', async () => {
      store.each = () => [
        { kind: 'stored' },
        { kind: 'spooled' },
        CONFLICT,
        { kind: 'spool_unavailable', retryAfterSeconds: 5 },
      ];

      const { result, outcome } = await events.logEvents([
        { event: 'a', uid: 'u' },
        { event: 'b', uid: 'u' },
        { uid: 'no event' },
        { event: 'c', uid: 'u', n: 1 },
        { event: 'd', uid: 'u' },
      ]);

      expect(outcome).toBe('spooled');
      expect(result.event_ids.map((id) => id !== null)).toEqual([true, true, false, false, false]);
      expect(result.rejected.map((r) => [r.index, r.reason.split(':')[0]])).toEqual([
        [2, 'event'],
        [3, 'n'],
        [
          4,
          'InfluxDB is unavailable and the spool cannot be written; nothing was stored, try again later',
        ],
      ]);
      await expect(counted()).resolves.toEqual([
        'refused/invalid 1',
        'refused/type_conflict 1',
        'refused/unavailable 1',
        'spooled/ 1',
        'stored/ 1',
      ]);
    });

    it('answers 503 when none could be kept, 400 when none is valid, 413 over MAX_BATCH_EVENTS', async () => {
      store.each = (points) =>
        points.map(() => ({ kind: 'spool_full', retryAfterSeconds: 3 }) as const);
      const full = await thrown(() => events.logEvents([{ event: 'a', uid: 'u' }]));
      const none = await thrown(() => events.logEvents([{ uid: 'u' }]));
      const many = await thrown(() =>
        events.logEvents(Array.from({ length: 1001 }, () => ({ event: 'a', uid: 'u' }))),
      );

      expect(full).toBeInstanceOf(RetryLaterException);
      expect((full as RetryLaterException).retryAfterSeconds).toBe(3);
      expect(none).toBeInstanceOf(Refusal);
      expect(many).toBeInstanceOf(PayloadTooLargeException);
    });
  });

  describe('findEvent', () => {
    it('asks the store with the read settings, and answers where the event is', async () => {
      store.read = { kind: 'found', status: 'queued', event: { time: 't', event: 'e' } };

      await expect(events.findEvent('  some-id ')).resolves.toEqual({
        event: { time: 't', event: 'e' },
        status: 'queued',
      });
      expect(store.reads).toEqual([
        ['some-id', { measurement: 'analytics', windowHours: 168, maxScans: 1 }],
      ]);
    });

    it('answers 404 for what is not an event id, without asking the store', async () => {
      await expect(events.findEvent('not an id')).rejects.toBeInstanceOf(NotFoundException);
      expect(store.reads).toEqual([]);
    });

    it.each<[ReadOutcome, number]>([
      [{ kind: 'not_found' }, 404],
      [{ kind: 'unavailable', retryAfterSeconds: 5 }, 503],
      [{ kind: 'busy', retryAfterSeconds: 1 }, 429],
    ])('answers %j with %d', async (read, status) => {
      store.read = read;

      const error = (await thrown(() => events.findEvent('x'))) as NotFoundException;

      expect(error.getStatus()).toBe(status);
    });
  });
});
