/// <reference lib="dom" />
/**
 * `/docs` in a real browser: Debian's Chromium, headless, driven by puppeteer-core (which never
 * downloads a browser; CHROMIUM_PATH, default /usr/bin/chromium, says which one runs). The page
 * must load without a script error, list every operation of `/docs-json`, and post an event
 * through "Try it out" with the demo token, which is then found in InfluxDB. For every refusal
 * (401, 403, 413, 415, 429, 503) the example the page shows is the body the service really
 * answers, provoked here. A second app whose descriptions hold every replacement pattern of
 * String.prototype.replace shows them as text.
 */
import { Controller, Get, Module, type INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ApiOperation } from '@nestjs/swagger';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';
import { setupOpenApi } from '../src/api-docs/openapi-document';
import { makeToken } from '../src/auth/token-codec';
import { dropDatabase, freePort, influxQuery } from './support/influxd';
import {
  DEMO_SECRET,
  DEMO_TOKEN,
  post,
  serviceFor,
  startService,
  type RunningService,
} from './support/service';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const METHODS = ['get', 'head', 'post', 'put', 'patch', 'delete', 'options'];
/** Text that String.prototype.replace would read as patterns: `` $` ``, `$'`, `$&`, `$$`, `$1`. */
const PATTERNS = "ends in `^[a-z]+$`, then $' and $& and $$ and $1";

let browser: Browser;

beforeAll(async () => {
  browser = await puppeteer.launch({
    executablePath: CHROMIUM,
    headless: true,
    // Root in a container: Chromium's sandbox needs user namespaces it does not get.
    args: ['--no-sandbox', '--disable-dev-shm-usage'],
  });
});

afterAll(async () => {
  await browser?.close();
});

/** A new page that records every uncaught script error and every console error. */
async function watchedPage(): Promise<{ page: Page; errors: string[] }> {
  const page = await browser.newPage();
  page.setDefaultTimeout(15_000);
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(`pageerror: ${String(error)}`));
  page.on('console', (message) => {
    if (message.type() === 'error') errors.push(`console: ${message.text()}`);
  });
  return { page, errors };
}

/** `METHOD path` of every operation the UI lists. */
async function listedOperations(page: Page): Promise<string[]> {
  await page.waitForSelector('.opblock .opblock-summary-path');
  return page.$$eval('.opblock', (blocks) =>
    blocks.map((block) => {
      const method = block.querySelector('.opblock-summary-method')?.textContent ?? '?';
      const path = block.querySelector('.opblock-summary-path')?.getAttribute('data-path') ?? '?';
      return `${method.toUpperCase()} ${path}`;
    }),
  );
}

describe('/docs in Chromium', () => {
  const service = serviceFor();
  let documented: string[];

  beforeAll(async () => {
    const doc = (await (await fetch(`${service().url}/docs-json`)).json()) as {
      paths: Record<string, Record<string, unknown>>;
    };
    documented = Object.entries(doc.paths).flatMap(([path, item]) =>
      Object.keys(item)
        .filter((key) => METHODS.includes(key))
        .map((method) => `${method.toUpperCase()} ${path}`),
    );
  });

  it('renders without a script error and lists every operation of /docs-json', async () => {
    const { page, errors } = await watchedPage();
    await page.goto(`${service().url}/docs`, { waitUntil: 'networkidle0' });
    const listed = await listedOperations(page);
    await page.close();

    expect(errors).toEqual([]);
    expect(documented.length).toBeGreaterThanOrEqual(7);
    expect([...listed].sort()).toEqual([...documented].sort());
  });

  it('posts an event through "Try it out" with the demo token, and InfluxDB stores it', async () => {
    const run = `docs_${randomBytes(6).toString('hex')}`;
    const { page, errors } = await watchedPage();
    await page.goto(`${service().url}/docs`, { waitUntil: 'networkidle0' });
    await page.waitForSelector('.btn.authorize');

    await page.click('.btn.authorize');
    await page.waitForSelector('.auth-container input');
    await page.type('.auth-container input', `Token ${DEMO_TOKEN}`);
    await page.click('.auth-btn-wrapper .authorize');
    await page.click('.auth-btn-wrapper .btn-done');

    const operation = '.opblock-post:has(.opblock-summary-path[data-path="/log/event"])';
    await page.click(`${operation} .opblock-summary`);
    await page.waitForSelector(`${operation} .try-out__btn`);
    await page.click(`${operation} .try-out__btn`);
    const body = `${operation} textarea.body-param__text`;
    await page.waitForSelector(body);
    await page.$eval(body, (textarea) => {
      textarea.value = '';
    });
    await page.type(body, JSON.stringify({ event: 'docs.try_it_out', uid: 'browser', run }));
    await page.click(`${operation} .execute`);
    const status = `${operation} .live-responses-table .response .response-col_status`;
    await page.waitForSelector(status);
    const answered = await page.$eval(status, (cell) => cell.textContent?.trim());
    const answer = await page.$eval(
      `${operation} .live-responses-table .response-col_description pre`,
      (pre) => pre.textContent ?? '',
    );
    await page.close();

    expect(errors).toEqual([]);
    expect(answered).toBe('200');
    const id = JSON.parse(answer) as string;
    expect(id).toMatch(/^entry_[0-9a-f]{32}$/);
    const rows = await influxQuery(
      service().influxUrl,
      service().database,
      `SELECT "event_id", "uid" FROM "analytics" WHERE "run" = '${run}'`,
    );
    expect(rows.map((row) => ({ event_id: row.event_id, uid: row.uid }))).toEqual([
      { event_id: id, uid: 'browser' },
    ]);
  });
});

describe('/docs in Chromium: the error examples are the bodies the service answers', () => {
  const SECRET = '0123456789abcdef'.repeat(8);
  /** One user per refusal: the rate limit (one request per second) counts per user. */
  const tokens = {
    reader: makeToken('reader', SECRET),
    tooLarge: makeToken('too-large', SECRET),
    encoding: makeToken('encoding', SECRET),
    limited: makeToken('limited', SECRET),
  };
  let dir: string;
  let svc: RunningService;
  let full: RunningService;
  /** status → the body the service answered. */
  const answered = new Map<number, unknown>();

  const auth = (token: string) => ({ Authorization: `Token ${token}` });
  const EVENT = { event: 'docs.refusal', uid: 'u' };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'docs-refusals-'));
    const file = join(dir, 'access.json');
    const user = (username: string, token: string, scopes?: string[]) => ({
      id: `user_${username}`,
      username,
      ...(scopes ? { scopes } : {}),
      tokens: [{ access_token: token, access_secret: SECRET }],
    });
    writeFileSync(
      file,
      JSON.stringify([
        {
          id: 'user_00ca4f6190b84f25827239233c4bcbaa',
          username: 'statsbob',
          tokens: [{ access_token: DEMO_TOKEN, access_secret: DEMO_SECRET }],
        },
        user('reader', tokens.reader, ['read']),
        user('too-large', tokens.tooLarge),
        user('encoding', tokens.encoding),
        user('limited', tokens.limited),
      ]),
    );
    // Overrides: users with scopes, and a rate limit, to provoke 403 and 429.
    svc = await startService({
      ACCESS_JSON: file,
      RATE_LIMIT_PER_SECOND: '1',
      RATE_LIMIT_BURST: '1',
    });
    // Overrides: an InfluxDB that is not there and the smallest spool, to provoke 503.
    full = await startService({
      INFLUX_URL: `http://127.0.0.1:${await freePort()}`,
      SPOOL_MAX_BYTES: String(1024 * 1024),
    });

    const refusals = [
      post(`${svc.url}/log/event`, EVENT, auth(makeToken('nobody', SECRET))),
      post(`${svc.url}/log/event`, EVENT, auth(tokens.reader)),
      post(
        `${svc.url}/log/event`,
        { ...EVENT, pad: 'x'.repeat(1024 * 1024) },
        auth(tokens.tooLarge),
      ),
      fetch(`${svc.url}/log/event`, {
        method: 'POST',
        headers: { ...auth(tokens.encoding), 'Content-Encoding': 'compress' },
        body: gzipSync(JSON.stringify(EVENT)),
      }).then(async (reply) => ({ status: reply.status, body: (await reply.json()) as unknown })),
      post(`${svc.url}/log/event`, EVENT, auth(tokens.limited)).then(() =>
        post(`${svc.url}/log/event`, EVENT, auth(tokens.limited)),
      ),
    ];
    for (const { status, body } of await Promise.all(refusals)) answered.set(status, body);
    // ~60 KiB per event: the 1 MiB spool is full after about 17.
    const pad = 'x'.repeat(60 * 1024);
    for (let i = 0; i < 40 && !answered.has(503); i++) {
      const reply = await post(`${full.url}/log/event`, { ...EVENT, pad });
      if (reply.status === 503) answered.set(503, reply.body);
    }
  }, 60_000);

  afterAll(async () => {
    for (const running of [svc, full]) {
      if (!running) continue;
      await running.close();
      await dropDatabase(running.influxUrl, running.database).catch(() => undefined);
    }
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** The Retry-After seconds differ from one answer to the next: the rest must be equal. */
  const comparable = (body: unknown) => {
    const { retryAfter, ...rest } = body as { retryAfter?: unknown };
    return retryAfter === undefined ? rest : { ...rest, retryAfter: typeof retryAfter };
  };

  it.each(['/log/event', '/log/events'])(
    'POST %s shows, for 401, 403, 413, 415, 429 and 503, the body the service answers',
    async (path) => {
      expect([...answered.keys()].sort()).toEqual([401, 403, 413, 415, 429, 503]);
      const { page, errors } = await watchedPage();
      await page.goto(`${svc.url}/docs`, { waitUntil: 'networkidle0' });
      const operation = `.opblock-post:has(.opblock-summary-path[data-path="${path}"])`;
      await page.click(`${operation} .opblock-summary`);
      await page.waitForSelector(`${operation} .responses-table`);
      const shown = await page.$$eval(`${operation} .responses-table tr.response`, (rows) =>
        rows.map((row) => ({
          status: Number(row.getAttribute('data-code')),
          example: row.querySelector('.model-example pre.example')?.textContent ?? '',
        })),
      );
      await page.close();

      expect(errors).toEqual([]);
      for (const [status, body] of answered) {
        const example = shown.find((entry) => entry.status === status)?.example ?? '';
        expect({ status, shown: comparable(JSON.parse(example || 'null') ?? {}) }).toEqual({
          status,
          shown: comparable(body),
        });
      }
    },
  );
});

@Controller()
class PatternsController {
  @Get()
  @ApiOperation({ summary: 'root' })
  root(): string {
    return 'root';
  }

  @Get('ping')
  @ApiOperation({ summary: 'ping' })
  ping(): string {
    return 'ping';
  }

  @Get('patterns')
  @ApiOperation({ summary: PATTERNS, description: PATTERNS })
  patterns(): string {
    return 'patterns';
  }
}

@Module({ controllers: [PatternsController] })
class PatternsModule {}

describe('/docs in Chromium, with every replacement pattern in a description', () => {
  let app: INestApplication;

  beforeAll(async () => {
    app = await NestFactory.create(PatternsModule, { logger: false });
    setupOpenApi(app);
    await app.listen(0, '127.0.0.1');
  });

  afterAll(async () => {
    await app?.close();
  });

  it('renders them as text', async () => {
    const { port } = (app.getHttpServer() as Server).address() as AddressInfo;
    const { page, errors } = await watchedPage();
    await page.goto(`http://127.0.0.1:${port}/docs`, { waitUntil: 'networkidle0' });
    const listed = await listedOperations(page);
    const summaries = await page.$$eval('.opblock-summary-description', (cells) =>
      cells.map((cell) => cell.textContent),
    );
    await page.close();

    expect(errors).toEqual([]);
    expect(listed).toContain('GET /patterns');
    expect(summaries).toContain(PATTERNS);
  });
});
