import { InfluxRefusedError } from './influx.errors';

/** Where a batch goes: resolves once the lines are stored, rejects as InfluxService.write does. */
export type Sink = (lines: string[]) => Promise<void>;

interface Submission {
  lines: string[];
  resolve(): void;
  reject(error: unknown): void;
}

export interface BatchWriterOptions {
  /** A batch is sent once it holds this many lines (a larger submission goes alone). */
  maxLines: number;
  /** Batches being written at once; further submissions wait and join the next batch. */
  maxInFlight: number;
}

/**
 * Group commit. Many small submissions in, few large writes out, and each submission's promise
 * settles with the true outcome of its own lines:
 * - With a write slot free, a batch leaves as soon as the event loop has no more input for it
 *   (setImmediate), so a lone request waits for no timer.
 * - While every slot is busy, submissions gather; a finished write sends what gathered, in
 *   batches of at most `maxLines`.
 * - A batch that InfluxDB refuses (4xx) is split in halves and each half written again, down to
 *   single submissions, so only the offending submissions are refused. Writing a half again is
 *   harmless: a point that was stored is overwritten by the identical point.
 * - A batch that fails for any other reason (InfluxDB unavailable) fails all its submissions.
 */
export class BatchWriter {
  private queue: Submission[] = [];
  private inFlight = 0;
  private scheduled = false;
  private idle: Array<() => void> = [];

  constructor(
    private readonly sink: Sink,
    private readonly options: BatchWriterOptions,
  ) {}

  /** Resolves once every line was stored; rejects with the error of the write that held them. */
  write(lines: string[]): Promise<void> {
    if (lines.length === 0) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ lines, resolve, reject });
      this.schedule();
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
      if (count > 0 && lines + submission.lines.length > this.options.maxLines) break;
      lines += submission.lines.length;
      count++;
    }
    return this.queue.splice(0, count);
  }

  private async send(batch: Submission[]): Promise<void> {
    try {
      await this.sink(batch.length === 1 ? batch[0]!.lines : batch.flatMap((s) => s.lines));
      for (const submission of batch) submission.resolve();
    } catch (error) {
      if (error instanceof InfluxRefusedError && batch.length > 1) {
        const half = batch.length >> 1;
        await this.send(batch.slice(0, half));
        await this.send(batch.slice(half));
        return;
      }
      for (const submission of batch) submission.reject(error);
    }
  }
}
