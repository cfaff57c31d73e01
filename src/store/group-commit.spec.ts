import type { InfluxFailure } from '../influx/influx.answers';
import { joinLines, partLines, type WritePart } from '../influx/line-protocol';
import { GroupCommit, type GroupCommitOptions, type WriteReport } from './group-commit';

/** A sink seen as lines: each submitted line's text, as the sink receives it. */
type Sink = (lines: string[]) => Promise<InfluxFailure | undefined>;

function linesOf(parts: readonly WritePart[]): string[] {
  return parts.flatMap(partLines);
}

/**
 * GroupCommit with submissions of lines, settled as promises: resolved once stored, rejected
 * with the InfluxFailure otherwise (for `each`, with the report when any point failed). Unless
 * a test says otherwise, no write leaves early (`eagerLines` Infinity): the tests of gathering
 * see what gathers in one turn of the event loop.
 */
class Writer {
  readonly commit: GroupCommit;

  constructor(
    sink: Sink,
    options: Omit<GroupCommitOptions, 'eagerLines'> & Partial<GroupCommitOptions>,
  ) {
    this.commit = new GroupCommit((parts) => sink(linesOf(parts)), {
      eagerLines: Infinity,
      ...options,
    });
  }

  report(lines: string[], each = false): Promise<WriteReport> {
    return this.commit.write(joinLines(lines), each);
  }

  async write(lines: string[], each = false): Promise<void> {
    const report = await this.report(lines, each);
    if (report === undefined) return;
    if (!Array.isArray(report) || report.some((failure) => failure !== undefined)) {
      throw report as unknown as Error;
    }
  }

  drain(): Promise<void> {
    return this.commit.drain();
  }
}

const REFUSED = { kind: 'refused', status: 400 } as const;

function unavailable(detail: string): InfluxFailure {
  return { kind: 'unavailable', detail };
}

/** One turn of the event loop: every setImmediate queued before it has run, and its microtasks. */
const tick = () => new Promise<void>((resolve) => setImmediate(resolve));

async function ticks(count: number): Promise<void> {
  for (let i = 0; i < count; i += 1) await tick();
}

/** Rejects when `promise` has not settled within `ms`: a writer that loses work fails fast. */
async function within<T>(promise: Promise<T>, ms = 5000): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`still pending after ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

interface SinkCall {
  lines: string[];
  settled: boolean;
  resolve(): void;
  reject(failure: InfluxFailure): void;
}

/**
 * A sink the test drives by hand: every call waits until the test settles it. Counts the calls
 * in flight, and logs to `log` when a call is settled (just before its promise settles).
 */
class ManualSink {
  readonly calls: SinkCall[] = [];
  readonly log: string[];
  active = 0;
  maxActive = 0;

  constructor(log: string[] = []) {
    this.log = log;
  }

  readonly sink: Sink = (lines) =>
    new Promise<InfluxFailure | undefined>((resolve) => {
      this.active += 1;
      this.maxActive = Math.max(this.maxActive, this.active);
      const index = this.calls.length;
      const call: SinkCall = {
        lines: [...lines],
        settled: false,
        resolve: () => {
          this.finish(call, `sink ok ${index}`);
          resolve(undefined);
        },
        reject: (failure) => {
          this.finish(call, `sink failed ${index}`);
          resolve(failure);
        },
      };
      this.calls.push(call);
    });

  /** The lines of every call so far, in call order. */
  get batches(): string[][] {
    return this.calls.map((call) => call.lines);
  }

  call(index: number): SinkCall {
    const call = this.calls[index];
    if (call === undefined) throw new Error(`no sink call ${index} (${this.calls.length} so far)`);
    return call;
  }

  /** Resolves call `index`, then lets the writer react. */
  async ok(index: number): Promise<void> {
    this.call(index).resolve();
    await ticks(2);
  }

  async fail(index: number, failure: InfluxFailure): Promise<void> {
    this.call(index).reject(failure);
    await ticks(2);
  }

  private finish(call: SinkCall, entry: string): void {
    if (call.settled) throw new Error('a sink call was settled twice');
    call.settled = true;
    this.active -= 1;
    this.log.push(entry);
  }
}

interface Tracked {
  status: 'pending' | 'resolved' | 'rejected';
  error?: unknown;
}

/** Watches a promise without awaiting it, so a test can look at its state at any moment. */
function track(promise: Promise<void>, log?: string[], name?: string): Tracked {
  const state: Tracked = { status: 'pending' };
  promise.then(
    () => {
      state.status = 'resolved';
      log?.push(`done ${name}`);
    },
    (error: unknown) => {
      state.status = 'rejected';
      state.error = error;
      log?.push(`rejected ${name}`);
    },
  );
  return state;
}

function refused(detail = 'partial write: unable to parse'): InfluxFailure {
  return { kind: 'refused', status: 400, detail };
}

/** A sink that answers on its own: refuses any batch holding `marker`, else stores it. */
function refusingSink(marker: RegExp) {
  const calls: Array<{ lines: string[]; outcome: 'ok' | 'refused' }> = [];
  const sink: Sink = async (lines) => {
    await tick();
    const bad = lines.some((line) => marker.test(line));
    calls.push({ lines: [...lines], outcome: bad ? 'refused' : 'ok' });
    return bad ? refused(`refused a batch of ${lines.length}`) : undefined;
  };
  return { sink, calls };
}

describe(GroupCommit.name, () => {
  afterEach(() => {
    jest.useRealTimers();
  });

  describe('a lone write', () => {
    it('goes out after one setImmediate, with no timer, and resolves once the sink resolved', async () => {
      // Timers are faked and never advanced: a writer that waited for one would never send.
      jest.useFakeTimers({ doNotFake: ['setImmediate', 'nextTick', 'queueMicrotask'] });
      const calls: string[][] = [];
      const writer = new Writer(
        (lines) => {
          calls.push([...lines]);
          return Promise.resolve(undefined);
        },
        { maxLines: 100, maxInFlight: 2 },
      );

      const state = track(writer.write(['m v=1 1']));
      expect(calls).toEqual([]);
      await tick();

      expect(calls).toEqual([['m v=1 1']]);
      expect(state.status).toBe('resolved');
      expect(jest.getTimerCount()).toBe(0);
    });

    it('stays pending while its sink call is pending', async () => {
      const sink = new ManualSink();
      const writer = new Writer(sink.sink, { maxLines: 100, maxInFlight: 2 });

      const state = track(writer.write(['a']));
      await ticks(10);

      expect(sink.batches).toEqual([['a']]);
      expect(state.status).toBe('pending');
      await sink.ok(0);
      expect(state.status).toBe('resolved');
    });
  });

  describe('an empty write', () => {
    it('resolves at once without calling the sink, even while every slot is busy', async () => {
      const sink = new ManualSink();
      const writer = new Writer(sink.sink, { maxLines: 100, maxInFlight: 1 });
      const busy = track(writer.write(['a']));
      await tick();

      const state = track(writer.write([]));
      // Microtasks only (the wrapper's own awaits), no turn of the event loop.
      for (let i = 0; i < 3; i += 1) await Promise.resolve();

      expect(state.status).toBe('resolved');
      expect(busy.status).toBe('pending');
      expect(sink.batches).toEqual([['a']]);
      await sink.ok(0);
      expect(sink.batches).toEqual([['a']]);
    });
  });

  describe('group commit', () => {
    it('gathers submissions that arrive while the only slot is busy into one sink call', async () => {
      const sink = new ManualSink();
      const writer = new Writer(sink.sink, { maxLines: 100, maxInFlight: 1 });
      const first = track(writer.write(['a1']));
      await tick();
      expect(sink.batches).toEqual([['a1']]);

      const gathered = [
        track(writer.write(['b1', 'b2'])),
        track(writer.write(['c1'])),
        track(writer.write(['d1', 'd2', 'd3'])),
      ];
      await ticks(10);
      expect(sink.batches).toEqual([['a1']]);

      await sink.ok(0);

      expect(first.status).toBe('resolved');
      expect(sink.batches).toEqual([['a1'], ['b1', 'b2', 'c1', 'd1', 'd2', 'd3']]);
      expect(gathered.map((s) => s.status)).toEqual(['pending', 'pending', 'pending']);
      await sink.ok(1);
      expect(gathered.map((s) => s.status)).toEqual(['resolved', 'resolved', 'resolved']);
      expect(sink.calls).toHaveLength(2);
    });

    it('with two slots, gathers what arrives while both are busy into one call when one frees', async () => {
      const sink = new ManualSink();
      const writer = new Writer(sink.sink, { maxLines: 100, maxInFlight: 2 });
      const a = track(writer.write(['a']));
      await tick();
      const b = track(writer.write(['b']));
      await tick();
      expect(sink.batches).toEqual([['a'], ['b']]);

      const waiting = [track(writer.write(['c'])), track(writer.write(['d', 'e']))];
      await ticks(10);
      expect(sink.calls).toHaveLength(2);

      await sink.ok(1);

      expect([a.status, b.status]).toEqual(['pending', 'resolved']);
      expect(sink.batches).toEqual([['a'], ['b'], ['c', 'd', 'e']]);
      expect(sink.active).toBe(2);
      await sink.ok(2);
      await sink.ok(0);
      expect([a.status, ...waiting.map((s) => s.status)]).toEqual([
        'resolved',
        'resolved',
        'resolved',
      ]);
    });

    it('submissions of the same turn share the first write', async () => {
      const sink = new ManualSink();
      const writer = new Writer(sink.sink, { maxLines: 100, maxInFlight: 2 });

      const states = [writer.write(['a']), writer.write(['b']), writer.write(['c'])].map((p) =>
        track(p),
      );
      await tick();

      expect(sink.batches).toEqual([['a', 'b', 'c']]);
      await sink.ok(0);
      expect(states.map((s) => s.status)).toEqual(['resolved', 'resolved', 'resolved']);
    });

    it('with a slot free, sends at once once eagerLines lines are queued, within the turn', async () => {
      const sink = new ManualSink();
      const writer = new Writer(sink.sink, { maxLines: 100, maxInFlight: 2, eagerLines: 3 });

      const first = [track(writer.write(['a', 'b'])), track(writer.write(['c']))];
      // No turn of the event loop yet: the third line sent the write.
      expect(sink.batches).toEqual([['a', 'b', 'c']]);
      const later = track(writer.write(['d']));
      expect(sink.batches).toEqual([['a', 'b', 'c']]);
      await tick();

      expect(sink.batches).toEqual([['a', 'b', 'c'], ['d']]);
      await sink.ok(0);
      await sink.ok(1);
      expect([...first, later].map((s) => s.status)).toEqual(['resolved', 'resolved', 'resolved']);
    });

    it('with every slot busy, keeps eagerLines lines queued until a slot frees', async () => {
      const sink = new ManualSink();
      const writer = new Writer(sink.sink, { maxLines: 100, maxInFlight: 1, eagerLines: 2 });
      const first = track(writer.write(['a', 'b']));
      expect(sink.batches).toEqual([['a', 'b']]);

      const waiting = [track(writer.write(['c', 'd'])), track(writer.write(['e']))];
      await ticks(10);
      expect(sink.batches).toEqual([['a', 'b']]);

      await sink.ok(0);
      expect(first.status).toBe('resolved');
      expect(sink.batches).toEqual([
        ['a', 'b'],
        ['c', 'd', 'e'],
      ]);
      await sink.ok(1);
      expect(waiting.map((s) => s.status)).toEqual(['resolved', 'resolved']);
    });

    it('keeps batches within maxLines, except a single larger submission, which goes alone', async () => {
      const sink = new ManualSink();
      const writer = new Writer(sink.sink, { maxLines: 3, maxInFlight: 1 });
      const sizes = [1, 1, 1, 1, 2, 5, 1, 3, 2, 2];
      const submissions = [['blocker'], ...sizes.map((n, i) => lines(`s${i}`, n))];
      const states = submissions.map((l) => track(writer.write(l)));
      // The blocker and the three 1-line submissions after it arrive in one turn: one batch.
      await tick();

      for (let i = 0; i < 20 && sink.calls.some((c) => !c.settled); i += 1) {
        await sink.ok(sink.calls.findIndex((c) => !c.settled));
      }

      // Submissions are never split; a batch closes before the one that would overflow it.
      expect(sink.batches).toEqual([
        ['blocker', 's0.0', 's1.0'],
        ['s2.0', 's3.0'],
        lines('s4', 2),
        lines('s5', 5),
        ['s6.0'],
        lines('s7', 3),
        lines('s8', 2),
        lines('s9', 2),
      ]);
      for (const batch of sink.batches) {
        const alone = submissions.some((s) => s.length > 3 && s.join() === batch.join());
        expect({ batch, fits: batch.length <= 3 || alone }).toEqual({ batch, fits: true });
      }
      expect(states.every((s) => s.status === 'resolved')).toBe(true);
    });

    it('never has more than maxInFlight sink calls at once, under bursts of submissions', async () => {
      const MAX_IN_FLIGHT = 3;
      let active = 0;
      let maxActive = 0;
      let calls = 0;
      const writer = new Writer(
        async () => {
          calls += 1;
          active += 1;
          maxActive = Math.max(maxActive, active);
          await new Promise((resolve) => setTimeout(resolve, Math.floor(Math.random() * 3)));
          active -= 1;
          return undefined;
        },
        { maxLines: 4, maxInFlight: MAX_IN_FLIGHT },
      );

      const writes: Array<Promise<void>> = [];
      for (let burst = 0; burst < 30; burst += 1) {
        for (let i = 0; i < 10; i += 1) {
          writes.push(writer.write(lines(`b${burst}.${i}`, 1 + ((burst + i) % 3))));
        }
        if (burst % 3 === 0) await tick();
      }
      await within(Promise.all(writes));

      expect(maxActive).toBe(MAX_IN_FLIGHT);
      expect(calls).toBeLessThan(writes.length);
    });

    it('keeps the order of lines: within a batch and, with one slot, across batches', async () => {
      const sink = new ManualSink();
      const writer = new Writer(sink.sink, { maxLines: 7, maxInFlight: 1 });
      const submissions = Array.from({ length: 40 }, (_, i) => lines(`s${i}`, 1 + (i % 4)));
      const writes: Array<Promise<void>> = [];
      for (const [i, submission] of submissions.entries()) {
        writes.push(writer.write(submission));
        if (i % 5 === 0) await tick();
      }
      for (let i = 0; i < 100 && sink.calls.some((c) => !c.settled); i += 1) {
        await sink.ok(sink.calls.findIndex((c) => !c.settled));
      }
      await within(Promise.all(writes));

      expect(sink.batches.flat()).toEqual(submissions.flat());
      expect(sink.batches.every((batch) => batch.length <= 7)).toBe(true);
    });
  });

  describe('outcomes', () => {
    it('settles each submission only after the sink call holding its lines settled', async () => {
      const log: string[] = [];
      const sink = new ManualSink(log);
      const writer = new Writer(sink.sink, { maxLines: 4, maxInFlight: 2 });
      const names = Array.from({ length: 12 }, (_, i) => `s${i}`);
      const states = names.map((name, i) =>
        track(writer.write(name === 's5' ? ['BAD'] : lines(name, 1 + (i % 2))), log, name),
      );

      // Settle calls one by one, oldest first; refuse every call holding the marker line.
      for (let i = 0; i < 100 && states.some((s) => s.status === 'pending'); i += 1) {
        await tick();
        const index = sink.calls.findIndex((c) => !c.settled);
        if (index < 0) continue;
        if (sink.call(index).lines.includes('BAD')) await sink.fail(index, refused());
        else await sink.ok(index);
      }

      expect(states.map((s) => s.status)).toEqual(
        names.map((name) => (name === 's5' ? 'rejected' : 'resolved')),
      );
      for (const [i, name] of names.entries()) {
        const ownLine = name === 's5' ? 'BAD' : `${name}.0`;
        const settledAt = log.indexOf(name === 's5' ? `rejected ${name}` : `done ${name}`);
        // The call whose outcome this submission got: the last one holding its lines.
        const callIndex = sink.calls.findLastIndex((call) => call.lines.includes(ownLine));
        const sinkSettledAt = log.findIndex(
          (entry) => entry === `sink ok ${callIndex}` || entry === `sink failed ${callIndex}`,
        );
        expect({ submission: i, before: sinkSettledAt < settledAt }).toEqual({
          submission: i,
          before: true,
        });
      }
    });

    it('splits a refused batch until only the submission holding the bad line is refused', async () => {
      const { sink, calls } = refusingSink(/^BAD/);
      const blocker = new ManualSink();
      let first = true;
      const writer = new Writer(
        (l) => {
          if (!first) return sink(l);
          first = false;
          return blocker.sink(l);
        },
        { maxLines: 100, maxInFlight: 1 },
      );
      const head = writer.write(['head']);
      await tick();
      const submissions = [['a'], ['b1', 'b2'], ['c'], ['BAD d'], ['e'], ['f1', 'f2']];
      const states = submissions.map((l) => track(writer.write(l)));
      await blocker.ok(0);
      await within(head);
      await within(writer.drain());

      expect(states.map((s) => s.status)).toEqual([
        'resolved',
        'resolved',
        'resolved',
        'rejected',
        'resolved',
        'resolved',
      ]);
      expect(states[3]!.error).toMatchObject(REFUSED);
      // The whole batch first, then halves; never a call without the marker refused.
      expect(calls[0]).toEqual({ lines: submissions.flat(), outcome: 'refused' });
      for (const call of calls) {
        expect(call.outcome).toBe(call.lines.includes('BAD d') ? 'refused' : 'ok');
      }
      expect(calls.filter((c) => c.outcome === 'refused').at(-1)).toEqual({
        lines: ['BAD d'],
        outcome: 'refused',
      });
      // Every good line reached InfluxDB in a call that succeeded.
      const stored = calls.filter((c) => c.outcome === 'ok').flatMap((c) => c.lines);
      expect(stored).toEqual(submissions.flat().filter((line) => line !== 'BAD d'));
      expect(calls.length).toBeLessThanOrEqual(1 + 2 * Math.ceil(Math.log2(submissions.length)));
    });

    it('refuses every submission holding a bad line, and only those', async () => {
      const { sink, calls } = refusingSink(/^BAD/);
      const writer = new Writer(sink, { maxLines: 1000, maxInFlight: 1 });
      const submissions = Array.from({ length: 16 }, (_, i) =>
        i === 0 || i === 7 || i === 8 || i === 15 ? [`s${i}`, `BAD ${i}`] : [`s${i}`],
      );

      const states = submissions.map((l) => track(writer.write(l)));
      await within(writer.drain());

      expect(calls[0]!.lines).toEqual(submissions.flat());
      expect(states.map((s, i) => [i, s.status])).toEqual(
        submissions.map((l, i) => [i, l.length === 2 ? 'rejected' : 'resolved']),
      );
      for (const state of states.filter((s) => s.status === 'rejected')) {
        expect(state.error).toMatchObject(REFUSED);
      }
    });

    it('narrows a refusal down to the points of a submission whose points stand alone', async () => {
      const { sink, calls } = refusingSink(/^BAD/);
      const writer = new Writer(sink, { maxLines: 1000, maxInFlight: 1 });
      const lines = ['e0', 'e1', 'BAD e2', 'e3', 'e4', 'BAD e5', 'e6'];

      const [batch, array] = await within(
        Promise.all([writer.report(lines, true), writer.report(['x', 'y'])]),
      );

      expect(batch).toEqual(
        lines.map((line): unknown =>
          line.startsWith('BAD') ? expect.objectContaining(REFUSED) : undefined,
        ),
      );
      expect(array).toBeUndefined();
      expect(calls[0]!.lines).toEqual([...lines, 'x', 'y']);
      // Every good line reached InfluxDB in a call that succeeded.
      const stored = calls.filter((c) => c.outcome === 'ok').flatMap((c) => c.lines);
      expect(stored.sort()).toEqual(['e0', 'e1', 'e3', 'e4', 'e6', 'x', 'y']);
    });

    it('answers once for all the points of a submission standing alone when nothing was refused', async () => {
      const sink = new ManualSink();
      const writer = new Writer(sink.sink, { maxLines: 1000, maxInFlight: 1 });
      const stored = writer.report(['a', 'b'], true);
      await tick();
      await sink.ok(0);
      const failed = writer.report(['c', 'd'], true);
      await tick();
      const outage = unavailable('InfluxDB answered 503');
      await sink.fail(1, outage);

      await expect(within(stored)).resolves.toBeUndefined();
      await expect(within(failed)).resolves.toBe(outage);
      expect(sink.batches).toEqual([
        ['a', 'b'],
        ['c', 'd'],
      ]);
    });

    it('refuses the one point of a lone submission standing alone (nothing to split)', async () => {
      const { sink, calls } = refusingSink(/^BAD/);
      const writer = new Writer(sink, { maxLines: 1000, maxInFlight: 1 });

      const report = await within(writer.report(['BAD 1'], true));

      expect(report).toMatchObject(REFUSED);
      expect(calls).toHaveLength(1);
    });

    it('refuses a lone submission once, without retrying it', async () => {
      const { sink, calls } = refusingSink(/^BAD/);
      const writer = new Writer(sink, { maxLines: 1000, maxInFlight: 1 });

      await expect(within(writer.write(['BAD 1', 'x']))).rejects.toMatchObject(REFUSED);

      expect(calls).toEqual([{ lines: ['BAD 1', 'x'], outcome: 'refused' }]);
    });

    it('fails every submission of a batch InfluxDB could not take, and no other', async () => {
      const sink = new ManualSink();
      const writer = new Writer(sink.sink, { maxLines: 3, maxInFlight: 1 });
      const a = track(writer.write(['a']));
      await tick();
      const inBatch = [track(writer.write(['b'])), track(writer.write(['c', 'd']))];
      const after = track(writer.write(['e', 'f']));
      await ticks(5);

      await sink.ok(0);
      expect(sink.batches).toEqual([['a'], ['b', 'c', 'd']]);
      const outage = unavailable('InfluxDB unreachable: connect ECONNREFUSED');
      await sink.fail(1, outage);
      await sink.ok(2);

      expect(sink.batches).toEqual([['a'], ['b', 'c', 'd'], ['e', 'f']]);
      expect(a.status).toBe('resolved');
      expect(inBatch).toEqual([
        { status: 'rejected', error: outage },
        { status: 'rejected', error: outage },
      ]);
      expect(after.status).toBe('resolved');
    });

    it('does not split a batch that failed for a reason other than a refusal', async () => {
      const calls: string[][] = [];
      const writer = new Writer(
        (l) => {
          calls.push([...l]);
          return Promise.reject(new Error('socket hang up'));
        },
        { maxLines: 100, maxInFlight: 1 },
      );

      const results = await within(Promise.allSettled([writer.write(['a']), writer.write(['b'])]));

      expect(calls).toEqual([['a', 'b']]);
      expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    });
  });

  describe('drain()', () => {
    it('resolves at once when nothing was written', async () => {
      const writer = new Writer(() => Promise.resolve(undefined), { maxLines: 10, maxInFlight: 1 });
      const state = track(writer.drain());
      await Promise.resolve();
      expect(state.status).toBe('resolved');
    });

    it('resolves only once nothing is queued or in flight', async () => {
      const sink = new ManualSink();
      const writer = new Writer(sink.sink, { maxLines: 2, maxInFlight: 2 });
      // Queued, not yet sent: drain must wait for it too.
      const writes = [writer.write(['a']), writer.write(['b']), writer.write(['c'])];
      const drained = track(writer.drain());
      await tick();
      expect(sink.batches).toEqual([['a', 'b'], ['c']]);

      await sink.ok(1);
      expect(drained.status).toBe('pending');
      const late = track(writer.write(['d']));
      await tick();
      expect(sink.calls).toHaveLength(3);
      await sink.ok(0);
      expect(drained.status).toBe('pending');
      await sink.fail(2, unavailable('down'));

      expect(drained.status).toBe('resolved');
      await expect(within(Promise.all(writes))).resolves.toEqual([undefined, undefined, undefined]);
      expect(late.status).toBe('rejected');
      expect(late.error).toMatchObject({ kind: 'unavailable' });
    });

    it('waits for submissions gathered behind busy slots', async () => {
      const sink = new ManualSink();
      const writer = new Writer(sink.sink, { maxLines: 10, maxInFlight: 1 });
      void writer.write(['a']);
      await tick();
      const queued = track(writer.write(['b']));
      const drained = track(writer.drain());

      await sink.ok(0);
      expect(sink.batches).toEqual([['a'], ['b']]);
      expect(drained.status).toBe('pending');
      await sink.ok(1);

      expect(queued.status).toBe('resolved');
      expect(drained.status).toBe('resolved');
    });
  });
});

/** `count` distinct lines named after a submission: `s1.0`, `s1.1`, ... */
function lines(name: string, count: number): string[] {
  return Array.from({ length: count }, (_, i) => `${name}.${i}`);
}
