/** pino's numeric levels and the names a person reads, padded to one width. */
const LEVELS: Record<number, string> = {
  10: 'TRACE',
  20: 'DEBUG',
  30: 'INFO ',
  40: 'WARN ',
  50: 'ERROR',
  60: 'FATAL',
};

/** Keys shown in their own place on the line (or left out: pid and hostname say nothing here). */
const PLACED = new Set([
  'level',
  'time',
  'pid',
  'hostname',
  'msg',
  'context',
  'req',
  'res',
  'responseTime',
  'err',
]);

interface Entry {
  level?: unknown;
  time?: unknown;
  msg?: unknown;
  context?: unknown;
  req?: { id?: unknown; method?: unknown; url?: unknown };
  res?: { statusCode?: unknown };
  responseTime?: unknown;
  err?: { message?: unknown; stack?: unknown };
  [key: string]: unknown;
}

/**
 * A pino destination for `npm run local` on a terminal (see log-format.ts): each JSON entry
 * becomes one line a person reads, `09:05:07.042 INFO  GET /ping 200 3 ms req=…` for a request
 * (the path only: never a query string, and the entry holds no header to print),
 * `09:05:07.042 INFO  [NestApplication] Nest application successfully started` otherwise, other
 * keys as `key=value`, an error's stack indented below. Never used in production.
 */
export class PrettyLogWriter {
  constructor(private readonly out: (text: string) => void) {}

  /** pino calls this with one JSON line per entry. */
  write(line: string): void {
    this.out(formatLogLine(line));
  }
}

/** One pino JSON line as a readable line (ending in a newline); anything else unchanged. */
export function formatLogLine(line: string): string {
  let entry: Entry;
  try {
    entry = JSON.parse(line) as Entry;
  } catch {
    return line.endsWith('\n') ? line : `${line}\n`;
  }
  if (typeof entry !== 'object' || entry === null) return `${line.trimEnd()}\n`;
  const parts = [clock(entry.time), LEVELS[Number(entry.level)] ?? String(entry.level)];
  if (typeof entry.context === 'string') parts.push(`[${entry.context}]`);
  if (entry.req !== undefined && entry.res !== undefined) {
    parts.push(String(entry.req.method), pathOf(entry.req.url), String(entry.res.statusCode));
    if (typeof entry.responseTime === 'number') parts.push(`${entry.responseTime} ms`);
    parts.push(`req=${String(entry.req.id)}`);
  } else if (entry.msg !== undefined) {
    parts.push(typeof entry.msg === 'string' ? entry.msg : JSON.stringify(entry.msg));
  }
  for (const [key, value] of Object.entries(entry)) {
    if (!PLACED.has(key))
      parts.push(`${key}=${typeof value === 'string' ? value : JSON.stringify(value)}`);
  }
  let text = parts.join(' ');
  if (entry.err !== undefined) {
    const detail = typeof entry.err.stack === 'string' ? entry.err.stack : entry.err.message;
    text += `\n    ${String(detail).split('\n').join('\n    ')}`;
  }
  return `${text}\n`;
}

/**
 * The path of a request URL without its query string, which may carry a token or user data
 * (`?access_token=…`): `?…` shows that there was one.
 */
function pathOf(url: unknown): string {
  const text = String(url);
  const query = text.indexOf('?');
  return query === -1 ? text : `${text.slice(0, query)}?…`;
}

/** Local wall-clock time of a pino timestamp (ms since the epoch), HH:MM:SS.mmm. */
function clock(time: unknown): string {
  if (typeof time !== 'number') return '--:--:--.---';
  const date = new Date(time);
  const two = (n: number) => String(n).padStart(2, '0');
  return `${two(date.getHours())}:${two(date.getMinutes())}:${two(date.getSeconds())}.${String(date.getMilliseconds()).padStart(3, '0')}`;
}
