/**
 * No token, secret or signature in the output of the built service at any LOG_LEVEL (docs/OPERATIONS.md,
 * "Logs"): `node dist/main.js` at debug and at trace gets the token in the Authorization header, in
 * `?token=`, in the body (as a value, a key, in broken JSON), in the URL path, in another header,
 * as X-Request-Id (the secret and the token's signature too), in a malformed header and as a bad token, and its whole stdout and
 * stderr are searched for the token, the access secret and the token's signature part. Needs
 * `npm run build` first.
 */
import { existsSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { dropDatabase, freePort, uniqueDatabase } from './support/influxd';
import { DEMO_SECRET, DEMO_TOKEN, REPO, spawnBuiltService } from './support/service';

const MAIN = join(REPO, 'dist', 'main.js');

/** The signature part of the token: its last 64 decoded bytes, as base64url. */
const SIGNATURE = Buffer.from(DEMO_TOKEN, 'base64url').subarray(-64).toString('base64url');

async function waitForPing(url: string): Promise<void> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    try {
      if ((await fetch(`${url}/ping`)).status === 200) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`no 200 from ${url}/ping`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Sends raw bytes and resolves to whatever comes back before the server closes. */
function raw(port: number, bytes: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let reply = '';
    socket.setEncoding('utf8').on('data', (chunk: string) => (reply += chunk));
    socket.on('end', () => resolve(reply));
    socket.on('close', () => resolve(reply));
    socket.on('error', reject);
    socket.write(bytes);
  });
}

describe.each(['debug', 'trace'])('dist/main.js at LOG_LEVEL=%s', (level) => {
  let output = '';
  const statuses: Record<string, number> = {};

  beforeAll(async () => {
    if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: run npm run build first`);
    const port = await freePort();
    const database = uniqueDatabase('secrets');
    const child = spawnBuiltService(port, database, level);
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
    const closed = new Promise((resolve) => child.once('close', resolve));
    const url = `http://127.0.0.1:${port}`;
    try {
      await waitForPing(url);
      const event = JSON.stringify({ event: 'secrets', uid: 'u' });
      const send = async (name: string, path: string, init: RequestInit) => {
        statuses[name] = (await fetch(`${url}${path}`, init)).status;
      };
      await send('header', '/log/event', {
        method: 'POST',
        headers: { Authorization: `Token ${DEMO_TOKEN}` },
        body: event,
      });
      await send('query', `/log/event?token=${encodeURIComponent(DEMO_TOKEN)}`, {
        method: 'POST',
        body: event,
      });
      await send('bare query', `/log/event?${DEMO_TOKEN}`, { method: 'POST', body: event });
      await send('body', '/log/event', {
        method: 'POST',
        headers: { Authorization: `Token ${DEMO_TOKEN}` },
        body: JSON.stringify({ event: 'secrets', uid: 'u', token: DEMO_TOKEN, key: DEMO_SECRET }),
      });
      await send('bad scheme', '/log/event', {
        method: 'POST',
        headers: { Authorization: `Basic ${DEMO_TOKEN}` },
        body: event,
      });
      await send('bad token', '/log/event', {
        method: 'POST',
        headers: { Authorization: `Token ${DEMO_TOKEN.slice(0, -8)}AAAAAAA=` },
        body: event,
      });
      await send('read', '/log/event/entry_00000000000000000000000000000000', {
        headers: { Authorization: `Token ${DEMO_TOKEN}` },
      });
      // A token pasted where an id goes, as a whole path, and in a header no one reads.
      await send('path', `/log/event/${DEMO_TOKEN}`, {
        headers: { Authorization: `Token ${DEMO_TOKEN}` },
      });
      await send('encoded path', `/log/event/${encodeURIComponent(DEMO_TOKEN)}`, {
        headers: { Authorization: `Token ${DEMO_TOKEN}` },
      });
      await send('whole path', `/${DEMO_TOKEN}`, {});
      await send('other header', '/log/event', {
        method: 'POST',
        headers: { Authorization: `Token ${DEMO_TOKEN}`, 'X-Api-Key': DEMO_TOKEN },
        body: event,
      });
      await send('request id', '/ping', { headers: { 'X-Request-Id': DEMO_TOKEN } });
      await send('secret as request id', '/ping', { headers: { 'X-Request-Id': DEMO_SECRET } });
      await send('secret in the path', `/log/event/${DEMO_SECRET}`, {
        headers: { Authorization: `Token ${DEMO_TOKEN}` },
      });
      await send('signature in the path', `/log/event/${SIGNATURE}`, {
        headers: { Authorization: `Token ${DEMO_TOKEN}` },
      });
      await send('broken body', '/log/event', {
        method: 'POST',
        headers: { Authorization: `Token ${DEMO_TOKEN}` },
        body: `{"token": "${DEMO_TOKEN}", "secret": "${DEMO_SECRET}"`,
      });
      await send('token as a key', '/log/event', {
        method: 'POST',
        headers: { Authorization: `Token ${DEMO_TOKEN}` },
        body: JSON.stringify({ event: 'secrets', uid: 'u', [DEMO_TOKEN]: 1, [DEMO_SECRET]: 2 }),
      });
      statuses['malformed header'] = Number(
        /^HTTP\/1\.1 (\d+)/.exec(
          await raw(
            port,
            `POST /log/event HTTP/1.1\r\nHost: x\r\nAuthorization: Token ${DEMO_TOKEN}\r\n` +
              `Bad Header ${DEMO_SECRET}\r\nContent-Length: 2\r\n\r\n{}`,
          ),
        )?.[1] ?? 0,
      );
    } finally {
      child.kill('SIGTERM');
      await closed;
      await dropDatabase(process.env.INFLUX_URL!, database);
    }
  });

  it('answered every request (so each went through the code that logs)', () => {
    expect(statuses).toEqual({
      header: 200,
      query: 401,
      'bare query': 401,
      body: 200,
      'bad scheme': 401,
      'bad token': 401,
      read: 404,
      path: 404,
      'encoded path': 404,
      'whole path': 404,
      'other header': 200,
      'request id': 200,
      'secret as request id': 200,
      'secret in the path': 404,
      'signature in the path': 404,
      'broken body': 400,
      // Refused: longer than MAX_KEY_LENGTH; the refusal is answered, and must not be logged.
      'token as a key': 400,
      'malformed header': 400,
    });
    expect(output.length).toBeGreaterThan(0);
  });

  it.each([
    ['the token', DEMO_TOKEN],
    ['the token, URL-encoded', encodeURIComponent(DEMO_TOKEN)],
    ['the signature part of the token', SIGNATURE],
    ['the access secret', DEMO_SECRET],
    ['the first 40 characters of the access secret', DEMO_SECRET.slice(0, 40)],
  ])('never writes %s', (_what, secret) => {
    expect(output).not.toContain(secret);
  });
});
