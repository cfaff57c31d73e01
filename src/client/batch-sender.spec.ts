import { BatchSender, isRetriable, type BatchSenderOptions } from './batch-sender';
import { EventQueue } from './event-queue';
import type { HttpReply } from './http-transport';
import { StatsError } from './stats-error';
import type { QueuedEvent, StatsEvent } from './stats-event';

const OPTIONS: BatchSenderOptions = {
  maxBatchEvents: 500,
  maxBatchBytes: 512 * 1024,
  flushIntervalMs: 1000,
  retryBaseMs: 100,
  retryMaxMs: 5000,
};

function reply(status: number, body: unknown = {}, retryAfterMs?: number): HttpReply {
  return { status, body, retryAfterMs };
}

const OK = reply(200, { event_ids: [], rejected: [] });
const UNREACHABLE = new StatsError('stats-service POST …: ECONNREFUSED', {
  kind: 'unreachable',
  status: 0,
});

type Answer = HttpReply | StatsError | 'hang';

/**
 * A sender over a fake `POST /log/events`: `answer` decides each reply from the event ids of
 * the batch. Records what was sent and when (fake clock), and what reached onError.
 */
function harness(
  answer: (ids: string[], call: number) => Answer,
  options: Partial<BatchSenderOptions> = {},
) {
  const queue = new EventQueue<QueuedEvent>(1000, 'oldest');
  const sent: Array<{ ids: string[]; at: number; bytes: number }> = [];
  const errors: Array<{ error: StatsError; ids: Array<string | undefined> }> = [];
  let signal: AbortSignal | undefined;
  const send = (body: string, abandon: AbortSignal): Promise<HttpReply> => {
    signal = abandon;
    const ids = (JSON.parse(body) as StatsEvent[]).map((event) => event.event_id!);
    sent.push({ ids, at: Date.now(), bytes: Buffer.byteLength(body) });
    const answered = answer(ids, sent.length);
    if (answered === 'hang') {
      return new Promise((_resolve, reject) =>
        abandon.addEventListener('abort', () => reject(UNREACHABLE)),
      );
    }
    return answered instanceof StatsError ? Promise.reject(answered) : Promise.resolve(answered);
  };
  // Math.random() fixed at 0.5: each backoff is half its ceiling, so waits can be checked exactly.
  const sender = new BatchSender(
    queue,
    send,
    { ...OPTIONS, ...options },
    (error, events) => errors.push({ error, ids: events.map((event) => event.event_id) }),
    () => 0.5,
  );
  let next = 0;
  const log = (count: number, extra: Record<string, string> = {}) => {
    for (let i = 0; i < count; i += 1) {
      const event: StatsEvent = { event: 'test', uid: 'u', event_id: `e${next}`, ...extra };
      next += 1;
      const json = JSON.stringify(event);
      queue.push({ event, json, bytes: Buffer.byteLength(json) });
    }
    sender.queued();
  };
  const gaps = () => sent.slice(1).map((entry, i) => entry.at - sent[i]!.at);
  return { sender, sent, errors, log, gaps, signal: () => signal };
}

describe(BatchSender.name, () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  it('sends a batch flushIntervalMs after the first event, not before', async () => {
    const { sent, log } = harness(() => OK);
    log(3);
    await jest.advanceTimersByTimeAsync(999);
    expect(sent).toEqual([]);
    log(2);
    await jest.advanceTimersByTimeAsync(1);
    expect(sent.map((entry) => entry.ids)).toEqual([['e0', 'e1', 'e2', 'e3', 'e4']]);
  });

  it('sends a full batch at once, in batches of maxBatchEvents, in order', async () => {
    const { sender, sent, log } = harness(() => OK, { maxBatchEvents: 10 });
    log(25);
    await jest.advanceTimersByTimeAsync(0);
    expect(sent.length).toBeGreaterThan(0);
    await sender.flush();
    expect(sent.map((entry) => entry.ids.length)).toEqual([10, 10, 5]);
    expect(sent.flatMap((entry) => entry.ids)).toEqual(
      Array.from({ length: 25 }, (_, i) => `e${i}`),
    );
  });

  it('keeps each body within maxBatchBytes', async () => {
    const { sender, sent, log } = harness(() => OK, { maxBatchBytes: 1000 });
    log(40, { padding: 'x'.repeat(100) });
    await sender.flush();
    expect(sent.flatMap((entry) => entry.ids)).toHaveLength(40);
    expect(Math.max(...sent.map((entry) => entry.bytes))).toBeLessThanOrEqual(1000);
    // Each event is about 150 bytes: six fit in 1000, seven do not.
    expect(sent.map((entry) => entry.ids.length)).toEqual([6, 6, 6, 6, 6, 6, 4]);
  });

  it('retries no answer, 5xx, 408 and 429 with exponential backoff and full jitter until delivered', async () => {
    const script: Answer[] = [UNREACHABLE, reply(500), reply(408), reply(429), reply(503), OK];
    const { sender, sent, errors, log, gaps } = harness((_ids, call) => script[call - 1]!);
    log(1);
    const flushed = sender.flush();
    await jest.advanceTimersByTimeAsync(10_000);
    await flushed;
    expect(sent).toHaveLength(6);
    // Half of 100, 200, 400, 800 and 1600 ms (random fixed at 0.5).
    expect(gaps()).toEqual([50, 100, 200, 400, 800]);
    expect(errors).toEqual([]);
  });

  it('honours Retry-After (seconds from the service) before the next try', async () => {
    const script: Answer[] = [
      reply(503, { message: 'spool full' }, 3000),
      reply(429, {}, 1000),
      OK,
    ];
    const { sender, log, gaps } = harness((_ids, call) => script[call - 1]!);
    log(1);
    const flushed = sender.flush();
    await jest.advanceTimersByTimeAsync(10_000);
    await flushed;
    // Retry-After plus half of its half (random fixed at 0.5) of jitter.
    expect(gaps()).toEqual([3750, 1250]);
  });

  it('sends again, after their Retry-After, the events of a 202 the service could not keep', async () => {
    // The service kept e0 and e2; e1 hit a full spool (503 in its entry) and e3 is refused for good.
    const first = reply(202, {
      event_ids: ['x0', null, 'x2', null],
      rejected: [
        { index: 1, reason: 'the spool is full', status: 503, retryAfter: 2 },
        { index: 3, reason: 'uid: required' },
      ],
    });
    const { sender, sent, errors, log, gaps } = harness((_ids, call) => (call === 1 ? first : OK));
    log(4);
    const flushed = sender.flush();
    await jest.advanceTimersByTimeAsync(10_000);
    await flushed;
    expect(sent.map((entry) => entry.ids)).toEqual([['e0', 'e1', 'e2', 'e3'], ['e1']]);
    expect(gaps()).toEqual([2500]);
    expect(errors.map(({ error, ids }) => [error.kind, error.message, ids])).toEqual([
      ['rejected', 'uid: required', ['e3']],
    ]);
    expect(sender.pending).toBe(0);
  });

  it('while it waits to send such events again, holds only them', async () => {
    const first = reply(202, {
      event_ids: ['x0', null],
      rejected: [{ index: 1, reason: 'overloaded', status: 429, retryAfter: 60 }],
    });
    // The last try at stop() gets no answer: what is left is what was held.
    const { sender, log } = harness((_ids, call) => (call === 1 ? first : 'hang'));
    log(2);
    await jest.advanceTimersByTimeAsync(1000);
    expect(sender.pending).toBe(1);
    expect(sender.lastFailure).toMatchObject({ status: 429, message: 'overloaded' });
    const stopped = sender.stop(0);
    await jest.advanceTimersByTimeAsync(0);
    expect((await stopped).map((event) => event.event_id)).toEqual(['e1']);
  });

  it('splits a batch the service finds too large (413) until each part fits, keeping order', async () => {
    // Batches of more than two events are too large, and so is event e4 on its own.
    const { sender, sent, errors, log } = harness((ids) =>
      ids.length > 2 || ids.includes('e4') ? reply(413, { message: 'too large' }) : OK,
    );
    log(5);
    await jest.advanceTimersByTimeAsync(1000);
    await sender.flush();
    expect(sent.map((entry) => entry.ids.join(','))).toEqual([
      'e0,e1,e2,e3,e4',
      'e0,e1,e2',
      'e0,e1',
      'e2',
      'e3,e4',
      'e3',
      'e4',
    ]);
    expect(errors.map(({ error, ids }) => [error.kind, error.status, error.message, ids])).toEqual([
      ['refused', 413, 'too large', ['e4']],
    ]);
  });

  it('does not retry another 4xx: reports it with its events and goes on', async () => {
    const { sender, sent, errors, log } = harness((ids) =>
      ids.includes('e0') ? reply(401, { statusCode: 401, message: 'invalid token' }) : OK,
    );
    log(2);
    await jest.advanceTimersByTimeAsync(1000);
    await sender.flush();
    log(1);
    await jest.advanceTimersByTimeAsync(60_000);
    expect(sent.map((entry) => entry.ids)).toEqual([['e0', 'e1'], ['e2']]);
    expect(errors).toHaveLength(1);
    expect(errors[0]!.error).toMatchObject({
      kind: 'refused',
      status: 401,
      message: 'invalid token',
    });
    expect(errors[0]!.ids).toEqual(['e0', 'e1']);
  });

  it('reports the rejected entries of a 200 or 202 one event at a time, and retries none', async () => {
    const { sender, sent, errors, log } = harness((_ids, call) =>
      call === 1
        ? reply(202, { event_ids: ['e0', null], rejected: [{ index: 1, reason: 'a-b: bad key' }] })
        : reply(200, { event_ids: [null], rejected: [{ index: 0, reason: 'uid: required' }] }),
    );
    log(2);
    await jest.advanceTimersByTimeAsync(1000);
    log(1);
    await jest.advanceTimersByTimeAsync(1000);
    await sender.flush();
    expect(sent).toHaveLength(2);
    expect(errors.map(({ error, ids }) => [error.kind, error.status, error.message, ids])).toEqual([
      ['rejected', 202, 'a-b: bad key', ['e1']],
      ['rejected', 200, 'uid: required', ['e2']],
    ]);
    expect(errors[0]!.error.body).toEqual({ index: 1, reason: 'a-b: bad key' });
  });

  it('reports the entries of a 400 where no event was valid one by one', async () => {
    const { sender, errors, log } = harness(() =>
      reply(400, {
        message: 'no event of the batch is valid',
        event_ids: [null, null],
        rejected: [
          { index: 0, reason: 'event: required' },
          { index: 1, reason: 'x: arrays are refused' },
        ],
      }),
    );
    log(2);
    await jest.advanceTimersByTimeAsync(1000);
    await sender.flush();
    expect(errors.map(({ error, ids }) => [error.status, error.message, ids])).toEqual([
      [400, 'event: required', ['e0']],
      [400, 'x: arrays are refused', ['e1']],
    ]);
  });

  it('counts events, queued or in flight, as pending until delivered', async () => {
    const { sender, log } = harness(() => 'hang', { maxBatchEvents: 2 });
    log(3);
    await jest.advanceTimersByTimeAsync(0);
    expect(sender.pending).toBe(3);
    const stopped = sender.stop(0);
    await jest.advanceTimersByTimeAsync(0);
    expect(await stopped).toHaveLength(3);
  });

  it('stop(): at the deadline abandons the request in flight and returns what is left, in order', async () => {
    const { sender, sent, log, signal } = harness(() => 'hang', { maxBatchEvents: 2 });
    log(3);
    await jest.advanceTimersByTimeAsync(0);
    expect(sent.map((entry) => entry.ids)).toEqual([['e0', 'e1']]);
    const stopped = sender.stop(5000);
    await jest.advanceTimersByTimeAsync(4999);
    expect(signal()!.aborted).toBe(false);
    await jest.advanceTimersByTimeAsync(1);
    const left = await stopped;
    expect(signal()!.aborted).toBe(true);
    expect(left.map((event) => event.event_id)).toEqual(['e0', 'e1', 'e2']);
    expect(sender.pending).toBe(0);
  });

  it('stop(): brings a long backoff forward to one last try, a quarter before the deadline', async () => {
    const { sender, sent, log } = harness(() => reply(503, { message: 'overloaded' }, 60_000));
    log(1);
    await jest.advanceTimersByTimeAsync(1000);
    expect(sent).toHaveLength(1);
    const started = sent[0]!.at;
    const stopped = sender.stop(2000);
    await jest.advanceTimersByTimeAsync(2000);
    expect((await stopped).map((event) => event.event_id)).toEqual(['e0']);
    // One last try at 1500 ms, refused again: then the deadline, not a third try.
    expect(sent.map((entry) => entry.at - started)).toEqual([0, 1500]);
    expect(sender.lastFailure).toMatchObject({ status: 503, message: 'overloaded' });
  });

  it('stop(): delivers on that last try when the service takes it then', async () => {
    const { sender, sent, log } = harness((_ids, call) => (call === 1 ? reply(503, {}, 5000) : OK));
    log(2);
    await jest.advanceTimersByTimeAsync(1000);
    const stopped = sender.stop(5000);
    await jest.advanceTimersByTimeAsync(5000);
    await expect(stopped).resolves.toEqual([]);
    expect(sent).toHaveLength(2);
  });

  it('stop(): keeps short backoffs as they are, and cuts short only one that would miss the deadline', async () => {
    const script: Answer[] = [reply(503, {}, 100), reply(503, {}, 100), reply(503, {}, 9000)];
    const { sender, sent, log } = harness((_ids, call) => script[call - 1] ?? reply(503, {}, 9000));
    log(1);
    const started = Date.now();
    const stopped = sender.stop(4000);
    await jest.advanceTimersByTimeAsync(4000);
    expect(await stopped).toHaveLength(1);
    // 100 ms + 50 ms of jitter twice; then 9 s, brought forward to 3000 ms; then the deadline.
    expect(sent.map((entry) => entry.at - started)).toEqual([0, 150, 300, 3000]);
  });

  it('stop(): flushes first and returns nothing when all was delivered; sends nothing after', async () => {
    const { sender, sent, log } = harness(() => OK);
    log(3);
    await expect(sender.stop(5000)).resolves.toEqual([]);
    expect(sent).toHaveLength(1);
    log(1);
    await jest.advanceTimersByTimeAsync(60_000);
    expect(sent).toHaveLength(1);
  });
});

describe('BatchSender timers', () => {
  afterEach(() => jest.restoreAllMocks());

  it('holds no timer that keeps the process alive, except while flush() is awaited', async () => {
    const timers: NodeJS.Timeout[] = [];
    const realSetTimeout = setTimeout;
    jest.spyOn(global, 'setTimeout').mockImplementation((fn: () => void, ms?: number) => {
      const timer = realSetTimeout(fn, ms);
      timers.push(timer);
      return timer;
    });
    const queue = new EventQueue<QueuedEvent>(10, 'oldest');
    let calls = 0;
    const sender = new BatchSender(
      queue,
      () => {
        calls += 1;
        return Promise.resolve(calls === 1 ? reply(503, {}, 0) : OK);
      },
      // Retry-After 0 plus half of retryBaseMs: the backoff waits 1 s, long after the check below.
      { ...OPTIONS, flushIntervalMs: 20, retryBaseMs: 2000 },
      () => undefined,
      () => 0.5,
    );
    queue.push({ event: { event: 'e', uid: '' }, json: '{}', bytes: 2 });
    sender.queued();
    const flushTimer = timers[0]!;
    expect(flushTimer.hasRef()).toBe(false);
    // No guess at how long the flush takes: wait until the backoff timer is set.
    while (timers.length < 2) await new Promise((resolve) => realSetTimeout(resolve, 5));
    // The first try failed: the backoff timer is running, in the background, unref'd.
    expect(calls).toBe(1);
    const backoffTimer = timers[1]!;
    expect(backoffTimer.hasRef()).toBe(false);
    const flushed = sender.flush();
    expect(backoffTimer.hasRef()).toBe(true);
    await flushed;
    expect(calls).toBe(2);
  });
});

describe(isRetriable.name, () => {
  it('retries no answer, 408, 429 and 5xx only', () => {
    const statuses = [0, 400, 401, 403, 404, 408, 413, 415, 422, 429, 500, 502, 503, 504];
    expect(statuses.filter(isRetriable)).toEqual([0, 408, 429, 500, 502, 503, 504]);
  });
});
