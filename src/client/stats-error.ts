/**
 * Why events did not reach the stats service:
 * - `unreachable`: no answer came (connection refused or reset, DNS, `timeoutMs` passed); `status` is 0.
 * - `refused`: the service answered an error status (`status`), with its `message`.
 * - `rejected`: one event of a batch was refused inside an otherwise successful answer
 *   (`status` is that answer's 200 or 202, `message` the service's reason for this event).
 * - `invalid`: the client could not send it (not serialisable as JSON); `status` is 0.
 */
export type StatsErrorKind = 'unreachable' | 'refused' | 'rejected' | 'invalid';

export interface StatsErrorDetails {
  kind: StatsErrorKind;
  status: number;
  /** The parsed answer body (or, for `rejected`, the service's `{ index, reason }` entry). */
  body?: unknown;
  /** When the service said when to come back (`Retry-After`), in milliseconds. */
  retryAfterMs?: number;
  cause?: unknown;
}

export class StatsError extends Error {
  override readonly name = 'StatsError';
  readonly kind: StatsErrorKind;
  /** The HTTP status of the answer; 0 when none came. */
  readonly status: number;
  readonly body: unknown;
  readonly retryAfterMs: number | undefined;

  constructor(message: string, details: StatsErrorDetails) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.kind = details.kind;
    this.status = details.status;
    this.body = details.body;
    this.retryAfterMs = details.retryAfterMs;
  }

  /** An error answer: the service's `message` (Nest's JSON error body), else the status. */
  static fromReply(reply: { status: number; body: unknown; retryAfterMs?: number }): StatsError {
    return new StatsError(messageOf(reply.body) ?? `stats-service answered ${reply.status}`, {
      kind: 'refused',
      status: reply.status,
      body: reply.body,
      retryAfterMs: reply.retryAfterMs,
    });
  }
}

function messageOf(body: unknown): string | undefined {
  if (typeof body !== 'object' || body === null || !('message' in body)) return undefined;
  const { message } = body;
  if (typeof message === 'string' && message !== '') return message;
  if (Array.isArray(message) && message.every((part) => typeof part === 'string')) {
    return message.join('; ');
  }
  return undefined;
}
