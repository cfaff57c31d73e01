/**
 * Token scopes end to end (docs/TOKENS.md, "Scopes"): a write-only token posts (stored in the
 * real InfluxDB) and is refused reading back with 403 and a JSON body naming the scope; a
 * read-only token reads back and is refused posting, with nothing stored; a token without
 * scopes does both, as in the original. Each refusal is counted for its user.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeToken } from '../src/auth/token-codec';
import { dropDatabase, httpRequest, influxQuery } from './support/influxd';
import { unique } from './support/ids';
import { DEMO_TOKEN, get, post, startService, type RunningService } from './support/service';

const SECRET = '0123456789abcdef'.repeat(8);
const WRITER = makeToken('writer', SECRET);
const READER = makeToken('reader', SECRET);
const BOTH = makeToken('both', SECRET);

describe('scopes in access.json', () => {
  let dir: string;
  let svc: RunningService;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'scopes-e2e-'));
    const file = join(dir, 'access.json');
    writeFileSync(
      file,
      JSON.stringify([
        {
          id: 'user_writer',
          username: 'writer',
          scopes: ['write'],
          tokens: [{ access_token: WRITER, access_secret: SECRET }],
        },
        {
          id: 'user_reader',
          username: 'reader',
          tokens: [{ access_token: READER, access_secret: SECRET, scopes: ['read'] }],
        },
        {
          id: 'user_both',
          username: 'both',
          tokens: [{ access_token: BOTH, access_secret: SECRET }],
        },
      ]),
    );
    svc = await startService({ ACCESS_JSON: file });
  });

  afterAll(async () => {
    await svc?.close();
    if (svc) await dropDatabase(svc.influxUrl, svc.database);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const auth = (token: string) => ({ Authorization: `Token ${token}` });

  async function storedWith(marker: string): Promise<unknown[]> {
    const rows = await influxQuery(
      svc.influxUrl,
      svc.database,
      `SELECT "event_id" FROM "analytics" WHERE "marker" = '${marker}'`,
    );
    return rows.map((row) => row.event_id);
  }

  it('lets a write-only token post, and refuses its read-back with 403 naming "read"', async () => {
    const marker = unique('m');
    const posted = await post(
      `${svc.url}/log/event`,
      { event: 'scope', uid: 'u', marker },
      auth(WRITER),
    );
    expect(posted.status).toBe(200);
    expect(await storedWith(marker)).toEqual([posted.body]);

    const read = await get(`${svc.url}/log/event/${String(posted.body)}`, auth(WRITER));
    expect(read.status).toBe(403);
    expect(read.headers.get('content-type')).toMatch(/^application\/json/);
    expect(read.body).toEqual({
      statusCode: 403,
      error: 'Forbidden',
      message:
        'this token may not read events back: it needs the scope "read", and its scopes in the access file are "write"',
      scope: 'read',
    });
  });

  it('lets a read-only token read back, and refuses its post with 403 naming "write", storing nothing', async () => {
    const marker = unique('m');
    const posted = await post(
      `${svc.url}/log/event`,
      { event: 'scope', uid: 'u', marker },
      auth(BOTH),
    );
    expect(posted.status).toBe(200);
    expect((await get(`${svc.url}/log/event/${String(posted.body)}`, auth(READER))).status).toBe(
      200,
    );

    const other = unique('m');
    for (const path of ['/log/event', '/log/events']) {
      const body =
        path === '/log/events'
          ? [{ event: 'scope', uid: 'u', marker: other }]
          : { event: 'scope', uid: 'u', marker: other };
      const refused = await post(`${svc.url}${path}`, body, auth(READER));
      expect(refused.status).toBe(403);
      expect(refused.body).toMatchObject({ statusCode: 403, scope: 'write' });
    }
    expect(await storedWith(other)).toEqual([]);
  });

  it('lets a token without scopes do both, as in the original', async () => {
    const posted = await post(`${svc.url}/log/event`, { event: 'scope', uid: 'u' }, auth(BOTH));
    expect(posted.status).toBe(200);
    expect((await get(`${svc.url}/log/event/${String(posted.body)}`, auth(BOTH))).status).toBe(200);
  });

  it('still refuses a token it does not list with 401, not 403', async () => {
    expect((await get(`${svc.url}/log/event/entry_x`, auth(DEMO_TOKEN))).status).toBe(401);
  });

  it('counts the 403s for their users', async () => {
    await get(`${svc.url}/log/event/entry_x`, auth(WRITER));
    const metrics = (await httpRequest('GET', `${svc.url}/metrics`)).body;
    expect(metrics).toMatch(
      /^stats_user_requests_total\{user="writer",method="GET",status="403"\} [1-9]/m,
    );
    expect(metrics).toMatch(
      /^stats_user_requests_total\{user="reader",method="POST",status="403"\} [1-9]/m,
    );
    for (const token of [WRITER, READER, BOTH]) expect(metrics).not.toContain(token.slice(0, 20));
  });
});
