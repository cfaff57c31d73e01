import { parseRetryAfter } from './backoff';
import { SERVER_TIME_HEADER, ServerClock } from './server-clock';
import { StatsError } from './stats-error';

/** An HTTP answer of any status, its JSON body parsed (or its text when it is not JSON). */
export interface HttpReply {
  status: number;
  body: unknown;
  retryAfterMs: number | undefined;
}

/**
 * The one place that talks HTTP, through Node's own fetch: the `Token` header, a timeout per
 * request, and every failure to get an answer as a StatsError of kind `unreachable`. Each
 * answer tells `clock` the service's time.
 */
export class HttpTransport {
  private readonly baseUrl: string;

  constructor(
    baseUrl: string,
    private readonly accessToken: string,
    private readonly timeoutMs: number,
    readonly clock: ServerClock = new ServerClock(),
  ) {
    this.baseUrl = baseUrl.replace(/\/+$/, '');
  }

  /** Resolves to whatever the service answered; `signal` aborts early (shutdown deadline). */
  async request(
    method: 'GET' | 'POST',
    path: string,
    body?: string,
    signal?: AbortSignal,
  ): Promise<HttpReply> {
    const url = `${this.baseUrl}${path}`;
    const timeout = AbortSignal.timeout(this.timeoutMs);
    const headers: Record<string, string> = { Accept: 'application/json' };
    if (method === 'POST') {
      headers['Content-Type'] = 'application/json';
      headers.Authorization = `Token ${this.accessToken}`;
    }
    const sentAt = this.clock.local();
    try {
      const response = await fetch(url, {
        method,
        headers,
        body,
        // The service never redirects; a POST silently re-sent as a GET elsewhere would be lost.
        redirect: 'manual',
        signal: signal === undefined ? timeout : AbortSignal.any([timeout, signal]),
      });
      this.clock.observe(sentAt, this.clock.local(), response.headers.get(SERVER_TIME_HEADER));
      const text = await response.text();
      return {
        status: response.status,
        body: parse(text),
        retryAfterMs: parseRetryAfter(response.headers.get('retry-after')),
      };
    } catch (error) {
      const why = timeout.aborted
        ? `no answer within ${this.timeoutMs} ms`
        : signal?.aborted
          ? 'the request was abandoned at shutdown'
          : reason(error);
      throw new StatsError(`stats-service ${method} ${url}: ${why}`, {
        kind: 'unreachable',
        status: 0,
        cause: error,
      });
    }
  }
}

function parse(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

/** fetch's own message is "fetch failed"; the system error (ECONNREFUSED...) is its cause. */
function reason(error: unknown): string {
  const cause = error instanceof Error ? error.cause : undefined;
  if (typeof cause === 'object' && cause !== null && 'code' in cause) return String(cause.code);
  if (cause instanceof Error) return cause.message;
  return error instanceof Error ? error.message : String(error);
}
