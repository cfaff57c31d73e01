/**
 * RATE_LIMIT_PER_SECOND end to end: a token bucket per user, applied after authentication. A
 * request that finds its bucket empty gets 429 with `Retry-After` and a JSON body naming the
 * variable at once, before its body is read, and nothing of it is stored (read back from
 * InfluxDB); the refusal is counted for its user.
 */
import { randomBytes } from 'node:crypto';
import { connect } from 'node:net';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeToken } from '../src/auth/token-codec';
import { dropDatabase, httpRequest, influxQuery } from './support/influxd';
import {
  DEMO_SECRET,
  DEMO_TOKEN,
  post,
  startService,
  type RunningService,
} from './support/service';
import { unique } from './support/ids';

/** POSTs one event carrying `marker` with that token. */
function send(svc: RunningService, token: string, marker: string) {
  return post(
    `${svc.url}/log/event`,
    { event: 'ratelimit.test', uid: 'u-1', marker },
    { Authorization: `Token ${token}` },
  );
}

/** event_id of the stored events that carry this marker, straight from InfluxDB. */
async function storedWith(svc: RunningService, marker: string): Promise<unknown[]> {
  const rows = await influxQuery(
    svc.influxUrl,
    svc.database,
    `SELECT "event_id" FROM "analytics" WHERE "marker" = '${marker}'`,
  );
  return rows.map((row) => row.event_id);
}

describe('RATE_LIMIT_PER_SECOND=2, RATE_LIMIT_BURST=2', () => {
  let dir: string;
  let svc: RunningService;

  const secret = () => randomBytes(64).toString('hex');
  const users = {
    alice: { id: unique('user_alice'), username: 'alice', secrets: [secret(), secret()] },
    carol: { id: unique('user_carol'), username: 'carol', secrets: [secret()] },
    dave: { id: unique('user_dave'), username: 'dave', secrets: [secret()] },
    erin: { id: unique('user_erin'), username: 'erin', secrets: [secret()] },
  };
  const tokens = {
    alice: users.alice.secrets.map((s) => makeToken('alice', s)),
    carol: makeToken('carol', users.carol.secrets[0]!),
    dave: makeToken('dave', users.dave.secrets[0]!),
    erin: makeToken('erin', users.erin.secrets[0]!),
  };

  beforeAll(async () => {
    const listed = (names: string[], secrets: string[]) =>
      names.map((token, i) => ({ access_token: token, access_secret: secrets[i] }));
    const file = [
      {
        id: 'user_00ca4f6190b84f25827239233c4bcbaa',
        username: 'statsbob',
        tokens: [{ access_token: DEMO_TOKEN, access_secret: DEMO_SECRET }],
      },
      { ...users.alice, secrets: undefined, tokens: listed(tokens.alice, users.alice.secrets) },
      { ...users.carol, secrets: undefined, tokens: listed([tokens.carol], users.carol.secrets) },
      { ...users.dave, secrets: undefined, tokens: listed([tokens.dave], users.dave.secrets) },
      { ...users.erin, secrets: undefined, tokens: listed([tokens.erin], users.erin.secrets) },
    ];
    dir = await mkdtemp(join(tmpdir(), 'rate-limit-e2e-'));
    const accessJson = join(dir, 'access.json');
    await writeFile(accessJson, JSON.stringify(file));
    svc = await startService({
      ACCESS_JSON: accessJson,
      RATE_LIMIT_PER_SECOND: '2',
      RATE_LIMIT_BURST: '2',
    });
  });

  afterAll(async () => {
    await svc?.close();
    if (svc) await dropDatabase(svc.influxUrl, svc.database);
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('answers the third immediate request 429 with Retry-After, and stores nothing of it', async () => {
    const markers = [unique('m'), unique('m'), unique('m')];

    // Together, so that the bucket has no time to refill however slow the machine.
    const replies = await Promise.all(markers.map((marker) => send(svc, DEMO_TOKEN, marker)));

    expect(replies.map((reply) => reply.status).sort()).toEqual([200, 200, 429]);
    const refused = replies.findIndex((reply) => reply.status === 429);
    const reply = replies[refused]!;
    const retryAfter = Number(reply.headers.get('retry-after'));
    expect(Number.isInteger(retryAfter)).toBe(true);
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(reply.headers.get('content-type')).toMatch(/^application\/json/);
    expect(reply.body).toEqual({
      statusCode: 429,
      error: 'Too Many Requests',
      message: 'too many requests for this token (RATE_LIMIT_PER_SECOND); nothing was stored',
      retryAfter,
    });
    for (const [i, marker] of markers.entries()) {
      expect(await storedWith(svc, marker)).toEqual(i === refused ? [] : [replies[i]!.body]);
    }
  });

  it('counts the refusal for its user in stats_user_requests_total', async () => {
    const metrics = await httpRequest('GET', `${svc.url}/metrics`);

    expect(metrics.body).toContain(
      'stats_user_requests_total{user="statsbob",method="POST",status="429"} 1\n',
    );
    expect(metrics.body).toContain(
      'stats_user_requests_total{user="statsbob",method="POST",status="200"} 2\n',
    );
    expect(metrics.body).not.toContain(DEMO_TOKEN.slice(0, 20));
  });

  it('answers 429 before the body is sent at all', async () => {
    const erin = tokens.erin;
    await exhaust(erin);
    const { port } = new URL(svc.url);
    // Headers announcing 64 KiB, and not one byte of body: only an answer that does not wait
    // for the body can arrive.
    const answer = await new Promise<string>((resolve, reject) => {
      const socket = connect(Number(port), '127.0.0.1', () => {
        socket.write(
          'POST /log/event HTTP/1.1\r\nHost: 127.0.0.1\r\n' +
            `Authorization: Token ${erin}\r\nContent-Type: application/json\r\n` +
            'Content-Length: 65536\r\n\r\n',
        );
      });
      let received = '';
      socket.on('data', (chunk: Buffer) => {
        received += chunk.toString();
        if (received.includes('\r\n\r\n') && received.includes('}')) {
          socket.destroy();
          resolve(received);
        }
      });
      socket.on('error', reject);
      socket.setTimeout(10_000, () => reject(new Error(`no answer; got ${received}`)));
    });

    expect(answer).toMatch(/^HTTP\/1\.1 429 Too Many Requests\r\n/);
    expect(answer).toMatch(/\r\nRetry-After: \d+\r\n/i);
  });

  /** Two requests at once: the user's burst. */
  async function exhaust(token: string): Promise<void> {
    const replies = await Promise.all([
      send(svc, token, unique('m')),
      send(svc, token, unique('m')),
    ]);
    expect(replies.map((reply) => reply.status)).toEqual([200, 200]);
  }

  it('keeps one bucket per user: another token of that user is limited too, other users are not', async () => {
    const [first, second] = tokens.alice as [string, string];
    await exhaust(first);

    const marker = unique('m');
    expect((await send(svc, second, marker)).status).toBe(429);
    expect((await send(svc, tokens.carol, unique('m'))).status).toBe(200);
    expect(await storedWith(svc, marker)).toEqual([]);
  });

  it('lets the user through again once Retry-After has passed', async () => {
    await exhaust(tokens.dave);
    const refused = await send(svc, tokens.dave, unique('m'));
    expect(refused.status).toBe(429);

    await new Promise((resolve) =>
      setTimeout(resolve, Number(refused.headers.get('retry-after')) * 1000),
    );

    expect((await send(svc, tokens.dave, unique('m'))).status).toBe(200);
  });

  it('does not limit routes that need no token', async () => {
    const replies = await Promise.all(
      Array.from({ length: 10 }, () => httpRequest('GET', `${svc.url}/ping`)),
    );

    expect(replies.map((reply) => reply.status)).toEqual(Array(10).fill(200));
  });
});

describe('without RATE_LIMIT_PER_SECOND', () => {
  let svc: RunningService;

  beforeAll(async () => {
    svc = await startService();
  });

  afterAll(async () => {
    await svc?.close();
    if (svc) await dropDatabase(svc.influxUrl, svc.database);
  });

  it('answers 50 quick requests of one user without a 429', async () => {
    const marker = unique('m');

    const replies = await Promise.all(
      Array.from({ length: 50 }, () => send(svc, DEMO_TOKEN, marker)),
    );

    expect(replies.map((reply) => reply.status)).toEqual(Array(50).fill(200));
    expect(await storedWith(svc, marker)).toHaveLength(50);
  });
});
