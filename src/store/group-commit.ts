import type { InfluxFailure } from '../influx/influx.answers';
import type { Lines, WritePart } from '../influx/line-protocol';

/** One write to InfluxDB of these parts: undefined once acknowledged, else why not. */
export type Sink = (parts: readonly WritePart[]) => Promise<InfluxFailure | undefined>;

/**
 * What became of a submission: one answer for all its points (undefined: stored), or, for a
 * submission whose points stand alone and whose write was split, one answer per point.
 */
export type WriteReport = InfluxFailure | undefined | ReadonlyArray<InfluxFailure | undefined>;

/** What became of the submission's point `i`. */
export function failureAt(report: WriteReport, i: number): InfluxFailure | undefined {
  return isEach(report) ? report[i] : report;
}

function isEach(report: WriteReport): report is ReadonlyArray<InfluxFailure | undefined> {
  return Array.isArray(report);
}

/** A submission is a part: all its lines, from 0 to `end`. */
interface Submission extends WritePart {
  /** Its points stand alone: a refusal is narrowed down to the point, not the submission. */
  readonly each: boolean;
  /** Per point, once its write was split (only for `each`). */
  results?: Array<InfluxFailure | undefined>;
  /** The one answer for all, when its write was not split. */
  result?: InfluxFailure;
  resolve(report: WriteReport): void;
}

/** Lines of one submission that are written, or refused, together. */
interface Unit extends WritePart {
  readonly owner: Submission;
}

export interface GroupCommitOptions {
  /** A write holds this many lines at most (a larger submission goes alone). */
  maxLines: number;
  /** Writes in flight at once; further submissions wait and join the next write. */
  maxInFlight: number;
  /**
   * With a slot free, a write leaves at once when this many lines are queued, without waiting
   * for the end of the event loop's turn (docs/PERFORMANCE.md, "Writes that leave early").
   */
  eagerLines: number;
}

/**
 * Group commit, and THE retry policy for what InfluxDB refuses: many small submissions in, few
 * large writes out, and each submission learns the true outcome of its own points.
 * - With a write slot free, a write leaves as soon as the event loop has no more input for it
 *   (setImmediate), so a lone request waits for no timer, or at once when `eagerLines` lines
 *   are queued: the requests that arrived together are then written in a few writes that
 *   overlap with the parsing of the last of them, not in one write after all are parsed.
 * - While every slot is busy, submissions gather; a finished write sends what gathered, up to
 *   `maxLines` lines each.
 * - A write InfluxDB refuses (the data: 400, 413, 422) is split in halves and each half written
 *   again, down to the units at fault: a whole submission (a points array, all or nothing) or
 *   one point of a submission whose points stand alone (a batch of events, a replay). Writing a
 *   half again is harmless: a point already stored is overwritten by the identical point.
 * - A write that fails otherwise (unavailable, credentials) fails all it held, unsplit.
 * What is done with a refused unit (the schema looked at again) is the caller's: PointWriter.
 */
export class GroupCommit {
  private queue: Submission[] = [];
  private queuedLines = 0;
  private inFlight = 0;
  private scheduled = false;
  private idle: Array<() => void> = [];

  constructor(
    private readonly sink: Sink,
    private readonly options: GroupCommitOptions,
  ) {}

  /**
   * Writes the lines (one a point); resolves with what became of them (never rejects).
   * `each`: the points stand alone, else they are stored or refused together.
   */
  write(lines: Lines, each: boolean): Promise<WriteReport> {
    const end = lines.ends.length;
    if (end === 0) return Promise.resolve(undefined);
    return new Promise<WriteReport>((resolve) => {
      this.queue.push({ lines, start: 0, end, each, resolve });
      this.queuedLines += end;
      if (this.queuedLines >= this.options.eagerLines) this.pump();
      else this.schedule();
    });
  }

  /** Resolves once nothing is queued or being written (for shutdown). */
  drain(): Promise<void> {
    if (this.queue.length === 0 && this.inFlight === 0) return Promise.resolve();
    return new Promise((resolve) => this.idle.push(resolve));
  }

  private schedule(): void {
    if (this.scheduled || this.inFlight >= this.options.maxInFlight) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.pump();
    });
  }

  private pump(): void {
    while (this.inFlight < this.options.maxInFlight && this.queue.length > 0) {
      const batch = this.take();
      this.inFlight++;
      void this.send(batch).finally(() => {
        this.inFlight--;
        if (this.queue.length > 0) this.schedule();
        else if (this.inFlight === 0) this.idle.splice(0).forEach((resolve) => resolve());
      });
    }
  }

  /** The oldest submissions, up to maxLines lines (at least one submission). */
  private take(): Submission[] {
    let lines = 0;
    let count = 0;
    for (const submission of this.queue) {
      if (count > 0 && lines + submission.end > this.options.maxLines) break;
      lines += submission.end;
      count++;
    }
    this.queuedLines -= lines;
    return this.queue.splice(0, count);
  }

  private async send(batch: Submission[]): Promise<void> {
    const failure = await this.write1(batch);
    const all = failure?.kind === 'refused' ? batch.flatMap(units) : [];
    if (all.length > 1) await this.split(all);
    else for (const submission of batch) submission.result = failure;
    for (const submission of batch) {
      submission.resolve(submission.results ?? submission.result);
    }
  }

  /** Writes the units (two or more) in halves until each refused one stands alone. */
  private async split(all: Unit[]): Promise<void> {
    const half = all.length >> 1;
    for (const units of [all.slice(0, half), all.slice(half)]) {
      const failure = await this.write1(units);
      if (failure?.kind === 'refused' && units.length > 1) {
        await this.split(units);
        continue;
      }
      for (const { owner, start, end } of units) {
        if (!owner.each) owner.result = failure;
        else
          (owner.results ??= new Array<InfluxFailure | undefined>(owner.end)).fill(
            failure,
            start,
            end,
          );
      }
    }
  }

  private async write1(parts: readonly WritePart[]): Promise<InfluxFailure | undefined> {
    try {
      return await this.sink(parts);
    } catch (error) {
      // The sink answers in values; anything thrown is a bug, not an answer from InfluxDB.
      return { kind: 'unavailable', detail: `write failed: ${String(error)}` };
    }
  }
}

/** A submission's units: itself, or each of its points' lines. */
function units(owner: Submission): Unit[] {
  const { lines, end } = owner;
  if (!owner.each) return [{ lines, start: 0, end, owner }];
  const each: Unit[] = [];
  for (let i = 0; i < end; i++) each.push({ lines, start: i, end: i + 1, owner });
  return each;
}
