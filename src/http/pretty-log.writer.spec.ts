import { formatLogLine, PrettyLogWriter } from './pretty-log.writer';

/** 2026-11-30 09:05:07.042 in the machine's own time zone, as the writer shows it. */
const TIME = new Date(2026, 10, 30, 9, 5, 7, 42).getTime();

describe(formatLogLine.name, () => {
  it('shows a request as method, URL, status, latency and id', () => {
    const line = JSON.stringify({
      level: 30,
      time: TIME,
      pid: 7,
      hostname: 'h',
      req: { id: 'abc', method: 'GET', url: '/ping' },
      res: { statusCode: 200 },
      responseTime: 3,
      msg: 'request completed',
    });
    expect(formatLogLine(`${line}\n`)).toBe('09:05:07.042 INFO  GET /ping 200 3 ms req=abc\n');
  });

  it('leaves out the query string of a request URL, which may carry a token', () => {
    const line = JSON.stringify({
      level: 30,
      time: TIME,
      req: { id: 'abc', method: 'GET', url: '/log/event/x?access_token=s3cr3t&b=1' },
      res: { statusCode: 401 },
      responseTime: 1,
    });
    expect(formatLogLine(line)).toBe('09:05:07.042 INFO  GET /log/event/x?… 401 1 ms req=abc\n');
  });

  it('shows other entries with their level, context and message, extra keys after them', () => {
    const line = JSON.stringify({
      level: 40,
      time: TIME,
      context: 'SpoolDrainer',
      msg: 'InfluxDB unavailable',
      lines: 12,
      dir: '/var/spool',
    });
    expect(formatLogLine(line)).toBe(
      '09:05:07.042 WARN  [SpoolDrainer] InfluxDB unavailable lines=12 dir=/var/spool\n',
    );
  });

  it('puts an error stack on indented lines below', () => {
    const line = JSON.stringify({
      level: 50,
      time: TIME,
      msg: 'write failed',
      err: { message: 'boom', stack: 'Error: boom\n    at x (y.js:1:1)' },
    });
    expect(formatLogLine(line)).toBe(
      '09:05:07.042 ERROR write failed\n    Error: boom\n        at x (y.js:1:1)\n',
    );
  });

  it('passes a line that is not JSON through unchanged', () => {
    expect(formatLogLine('not json')).toBe('not json\n');
  });
});

describe(PrettyLogWriter.name, () => {
  it('writes each formatted entry to its output', () => {
    const written: string[] = [];
    const writer = new PrettyLogWriter((text) => written.push(text));
    writer.write(JSON.stringify({ level: 60, time: TIME, msg: 'gone' }));
    expect(written).toEqual(['09:05:07.042 FATAL gone\n']);
  });
});
