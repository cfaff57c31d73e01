/// <reference lib="dom" />
/**
 * `/docs` in a real browser: Debian's Chromium, headless, driven by puppeteer-core (which never
 * downloads a browser; CHROMIUM_PATH, default /usr/bin/chromium, says which one runs). The page
 * must load without a script error, list every operation of `/docs-json`, and post an event
 * through "Try it out" with the demo token, which is then found in InfluxDB. A second app whose
 * descriptions hold every replacement pattern of String.prototype.replace shows them as text.
 */
import { Controller, Get, Module, type INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ApiOperation } from '@nestjs/swagger';
import { randomBytes } from 'node:crypto';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';
import { setupOpenApi } from '../src/api-docs/openapi-document';
import { influxQuery } from './support/influxd';
import { DEMO_TOKEN, serviceFor } from './support/service';

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
