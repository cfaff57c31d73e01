import type { HttpReply } from './http-transport';
import { StatsError } from './stats-error';
import type { QueuedEvent, StatsEvent } from './stats-event';

/** Events that will not be delivered, and why. */
export type ReportError = (error: StatsError, events: StatsEvent[]) => void;

/** 408, 429 and 5xx are worth another try, as is no answer at all (status 0). */
export function isRetriable(status: number): boolean {
  return status === 0 || status === 408 || status === 429 || status >= 500;
}

/** What a 2xx batch answer asks of the sender: nothing more, or these events again. */
export type DeliveredAnswer =
  | { readonly kind: 'done' }
  | {
      /** Delivered but for these events, which the service could not keep just then (429, 503). */
      readonly kind: 'again';
      readonly events: QueuedEvent[];
      readonly failure: StatsError;
    };

const DONE = { kind: 'done' } as const;

/**
 * A 200 or 202: reports the events it rejected for good; those it could not keep just then
 * (status 429 or 503 in their entry) go again.
 */
export function classifyDelivered(
  batch: QueuedEvent[],
  reply: HttpReply,
  report: ReportError,
): DeliveredAnswer {
  const again: QueuedEvent[] = [];
  let failure: StatsError | undefined;
  for (const entry of rejectedEntries(reply.body)) {
    const queued = batch[entry.index];
    if (queued === undefined) continue;
    if (entry.status !== undefined && isRetriable(entry.status)) {
      again.push(queued);
      failure ??= new StatsError(entry.reason, {
        kind: 'refused',
        status: entry.status,
        body: entry,
        ...(entry.retryAfterMs === undefined ? {} : { retryAfterMs: entry.retryAfterMs }),
      });
    } else {
      report(
        new StatsError(entry.reason, { kind: 'rejected', status: reply.status, body: entry }),
        [queued.event],
      );
    }
  }
  return failure === undefined ? DONE : { kind: 'again', events: again, failure };
}

/**
 * A refusal not worth retrying: a 400 with per-event refusals reports each event with its own
 * reason; anything else reports the whole batch with `failure`.
 */
export function reportRefused(
  batch: QueuedEvent[],
  reply: HttpReply,
  failure: StatsError,
  report: ReportError,
): void {
  if (reply.status === 400) {
    const rejected = rejectedEntries(reply.body);
    for (const entry of rejected) {
      const queued = batch[entry.index];
      if (queued === undefined) continue;
      report(
        new StatsError(entry.reason, { kind: 'rejected', status: reply.status, body: entry }),
        [queued.event],
      );
    }
    if (rejected.length > 0) return;
  }
  report(
    failure,
    batch.map((queued) => queued.event),
  );
}

interface RejectedEntry {
  index: number;
  reason: string;
  /** 429 or 503 for an event the service could not keep just then (spool full, overload). */
  status?: number;
  retryAfterMs?: number;
}

/**
 * The `rejected` entries of a batch answer
 * (`{ event_ids, rejected: [{ index, reason, status?, retryAfter? }] }`).
 */
function rejectedEntries(body: unknown): RejectedEntry[] {
  if (typeof body !== 'object' || body === null || !('rejected' in body)) return [];
  const { rejected } = body;
  if (!Array.isArray(rejected)) return [];
  return rejected.flatMap((entry: unknown): RejectedEntry[] => {
    if (typeof entry !== 'object' || entry === null) return [];
    const { index, reason, status, retryAfter } = entry as Record<string, unknown>;
    if (typeof index !== 'number' || !Number.isInteger(index)) return [];
    return [
      {
        index,
        reason: typeof reason === 'string' ? reason : 'rejected by stats-service',
        ...(typeof status === 'number' ? { status } : {}),
        ...(typeof retryAfter === 'number' && retryAfter >= 0
          ? { retryAfterMs: retryAfter * 1000 }
          : {}),
      },
    ];
  });
}
