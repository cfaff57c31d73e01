/**
 * The fault tests' load generator, run as a process of its own (so that a killed or stopped
 * service never takes the record with it):
 *
 *   node -r ts-node/register/transpile-only test/fault/load.ts '<LoadConfig as JSON>'
 *
 * POSTs single events `{event: 'fault.<scenario>', uid: 'u-<n>', seq: n}` to `/log/event` (or,
 * with `batch`, arrays of that many such events to `/log/events`) over
 * `connections` keep-alive connections, at most `maxRequests` of them and for at most `seconds`
 * (optionally paced to `ratePerSecond`), and appends one JSON line per request to `out` as soon
 * as its answer (or its failure) arrives: see `Answer`. Connection errors and timeouts are
 * recorded with status 0 (not acknowledged). SIGTERM stops sending; answers still on the way
 * are recorded. With `honourRetryAfter`, a worker refused with Retry-After waits before its next
 * request, as well-behaved clients do. Only node: built-ins.
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import { Agent, request } from 'node:http';

export interface LoadConfig {
  /** Service base URL, `http://127.0.0.1:<port>`. */
  url: string;
  token: string;
  scenario: string;
  connections: number;
  maxRequests: number;
  seconds: number;
  /** JSON lines file, appended to. */
  out: string;
  /** Overall request rate; unpaced when absent. */
  ratePerSecond?: number;
  /** Adds a `pad` string of this many bytes to every event. */
  padBytes?: number;
  /** Per-request timeout (default 15 s). */
  timeoutMs?: number;
  /**
   * After a 503 or 429 with Retry-After, wait as docs/OPERATIONS.md ("Under overload") tells
   * clients to: at least Retry-After, plus up to as long again at random (jitter), before the
   * next request.
   */
  honourRetryAfter?: boolean;
  /** Events per request, POSTed as an array to /log/events; absent: one object to /log/event. */
  batch?: number;
}

/** One line of the record. */
export interface Answer {
  seq: number;
  uid: string;
  /** HTTP status, or 0 when no answer arrived (connection refused or reset, timeout). */
  status: number;
  /** The event id of a 200 or 202 answer. */
  id?: string;
  /** With `batch`: the event ids of a 200 or 202 answer (null for an event it rejected). */
  ids?: Array<string | null>;
  /** The Retry-After header, as sent. */
  retryAfter?: string;
  /** Body of a refusal (cut to 300 characters), or the connection error's code. */
  error?: string;
  /** Sent and answered, milliseconds since the epoch. */
  sentAt: number;
  at: number;
}

function send(
  config: LoadConfig,
  agent: Agent,
  seq: number,
  pad: string | undefined,
): Promise<Answer> {
  const uid = `u-${seq}`;
  const event = (n: number): Record<string, unknown> => {
    const made: Record<string, unknown> = { event: `fault.${config.scenario}`, uid, seq, n };
    if (pad !== undefined) made.pad = pad;
    return made;
  };
  const body = Buffer.from(
    JSON.stringify(
      config.batch === undefined
        ? event(0)
        : Array.from({ length: config.batch }, (_, n) => event(n)),
    ),
  );
  const sentAt = Date.now();
  return new Promise((resolve) => {
    let settled = false;
    const done = (answer: Omit<Answer, 'seq' | 'uid' | 'sentAt' | 'at'>) => {
      if (settled) return;
      settled = true;
      resolve({ seq, uid, sentAt, at: Date.now(), ...answer });
    };
    const req = request(
      `${config.url}${config.batch === undefined ? '/log/event' : '/log/events'}`,
      {
        method: 'POST',
        agent,
        headers: {
          authorization: `Token ${config.token}`,
          'content-type': 'application/json',
          'content-length': String(body.length),
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('error', (error: NodeJS.ErrnoException) =>
          done({ status: 0, error: error.code ?? error.message }),
        );
        res.on('aborted', () => done({ status: 0, error: 'response aborted' }));
        res.on('end', () => {
          const status = res.statusCode ?? 0;
          const text = Buffer.concat(chunks).toString('utf8');
          const retryAfter = res.headers['retry-after'];
          const answer: Omit<Answer, 'seq' | 'uid' | 'sentAt' | 'at'> = { status };
          if (retryAfter !== undefined) answer.retryAfter = retryAfter;
          if (status === 200 || status === 202) {
            try {
              const reply: unknown = JSON.parse(text);
              const ids = (reply as { event_ids?: unknown } | null)?.event_ids;
              if (typeof reply === 'string') answer.id = reply;
              else if (Array.isArray(ids)) answer.ids = ids as Array<string | null>;
              else answer.error = text.slice(0, 300);
            } catch {
              answer.error = text.slice(0, 300);
            }
          } else {
            answer.error = text.slice(0, 300);
          }
          done(answer);
        });
      },
    );
    req.setTimeout(config.timeoutMs ?? 15_000, () => {
      done({ status: 0, error: 'timeout' });
      req.destroy();
    });
    req.on('error', (error: NodeJS.ErrnoException) =>
      done({ status: 0, error: error.code ?? error.message }),
    );
    req.end(body);
  });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function main(): Promise<void> {
  const config = JSON.parse(process.argv[2] ?? '') as LoadConfig;
  // Every connection stays open between requests (Node keeps only 256 idle ones by default).
  const agent = new Agent({
    keepAlive: true,
    maxSockets: config.connections,
    maxFreeSockets: config.connections,
  });
  const fd = openSync(config.out, 'a');
  const pad = config.padBytes ? 'x'.repeat(config.padBytes) : undefined;
  const started = Date.now();
  let end = started + config.seconds * 1000;
  process.on('SIGTERM', () => (end = 0));
  // The runner times its faults from this line.
  process.stdout.write('load started\n');
  let next = 0;
  let sent = 0;
  const counts = new Map<number, number>();

  const worker = async () => {
    while (Date.now() < end && next < config.maxRequests) {
      const seq = next++;
      if (config.ratePerSecond) {
        const due = started + (seq * 1000) / config.ratePerSecond;
        if (due > Date.now()) await sleep(due - Date.now());
        if (Date.now() >= end) return;
      }
      sent++;
      const answer = await send(config, agent, seq, pad);
      // Synchronously, one line per answer: whatever happens next, the record is on file.
      writeSync(fd, `${JSON.stringify(answer)}\n`);
      counts.set(answer.status, (counts.get(answer.status) ?? 0) + 1);
      // A service that is gone refuses at once: do not spin on it.
      if (answer.status === 0) await sleep(50);
      const retryAfter = Number(answer.retryAfter);
      if (config.honourRetryAfter && Number.isFinite(retryAfter) && retryAfter > 0) {
        // Not past the end of the load: a refused worker has nothing more to send.
        await sleep(
          Math.min(retryAfter * 1000 * (1 + Math.random()), Math.max(0, end - Date.now())),
        );
      }
    }
  };
  await Promise.all(Array.from({ length: config.connections }, worker));
  closeSync(fd);
  agent.destroy();
  process.stdout.write(`${JSON.stringify({ sent, statuses: Object.fromEntries(counts) })}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`load failed: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
