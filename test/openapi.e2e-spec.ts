/**
 * The OpenAPI document (`/docs-json`) and the Swagger UI (`/docs`): public, complete (every
 * route, method, body, status and header of README "The API"), served from the service itself,
 * and true to what the service answers: real replies are validated against the documented
 * schemas, and so is every documented example. The services here are the build's (dist/, see
 * builtApp): the schemas derived from DTO classes by the @nestjs/swagger CLI plugin exist
 * only there.
 */
import { runInNewContext } from 'node:vm';
import Ajv2020 from 'ajv/dist/2020';
import { dropDatabase, freePort } from './support/influxd';
import { AUTH, builtApp, get, post, startService, type RunningService } from './support/service';

type JsonSchema = Record<string, unknown>;

interface Media {
  schema?: JsonSchema;
  example?: unknown;
  examples?: Record<string, { value: unknown }>;
}

interface ResponseDoc {
  description: string;
  headers?: Record<string, { schema: JsonSchema }>;
  content?: Record<string, Media>;
}

interface Operation {
  operationId?: string;
  security?: Array<Record<string, string[]>>;
  parameters?: Array<{ name: string; in: string; schema?: JsonSchema; example?: unknown }>;
  requestBody?: { required?: boolean; content: Record<string, Media> };
  responses: Record<string, ResponseDoc>;
}

interface OpenApiDoc {
  openapi: string;
  info: { title: string; version: string };
  security?: unknown;
  paths: Record<string, Record<string, Operation>>;
  components: {
    securitySchemes: Record<string, Record<string, string>>;
    schemas: Record<string, JsonSchema>;
  };
}

type Reply = Awaited<ReturnType<typeof get>>;

/** Every route of README "The API", with its methods, and whether it needs a token. */
const ROUTES: Record<string, { methods: string[]; token: boolean }> = {
  '/': { methods: ['get', 'head'], token: false },
  '/ping': { methods: ['get', 'head'], token: false },
  '/ready': { methods: ['get'], token: false },
  '/metrics': { methods: ['get'], token: false },
  '/log/event': { methods: ['post'], token: true },
  '/log/events': { methods: ['post'], token: true },
  '/log/event/{id}': { methods: ['get'], token: true },
};

const OPERATIONS = Object.entries(ROUTES).flatMap(([path, { methods, token }]) =>
  methods.map((method) => ({ path, method, token })),
);
const TOKEN_OPERATIONS = OPERATIONS.filter((op) => op.token);
const POST_PATHS = ['/log/event', '/log/events'];
const JSON_TYPE = 'application/json';

async function fetchDoc(url: string, headers: Record<string, string> = {}) {
  const response = await fetch(`${url}/docs-json`, { headers });
  return {
    status: response.status,
    contentType: response.headers.get('content-type'),
    doc: (await response.json()) as OpenApiDoc,
  };
}

/**
 * Validates values against schemas of the document: each schema is compiled with the
 * document's components beside it, so that `#/components/schemas/...` resolves.
 */
function schemaValidator(doc: OpenApiDoc) {
  const ajv = new Ajv2020({ strict: false, validateFormats: false, allErrors: true });
  return (schema: JsonSchema, value: unknown): string | undefined => {
    const validate = ajv.compile({ ...schema, components: doc.components });
    return validate(value) ? undefined : ajv.errorsText(validate.errors);
  };
}

function operation(doc: OpenApiDoc, path: string, method: string): Operation {
  const op = doc.paths[path]?.[method];
  if (!op) throw new Error(`${method.toUpperCase()} ${path} is not documented`);
  return op;
}

function documented(doc: OpenApiDoc, path: string, method: string, status: number): ResponseDoc {
  const response = operation(doc, path, method).responses[String(status)];
  if (!response) throw new Error(`${method.toUpperCase()} ${path} documents no ${status}`);
  return response;
}

/** The status is documented, and the real body and headers match what is documented for it. */
function expectDocumented(
  doc: OpenApiDoc,
  path: string,
  method: string,
  reply: Reply,
  validate: ReturnType<typeof schemaValidator>,
): void {
  const response = documented(doc, path, method, reply.status);
  const schema = response.content?.[JSON_TYPE]?.schema;
  expect(schema).toBeDefined();
  expect(reply.headers.get('content-type')).toMatch(/^application\/json/);
  expect(validate(schema!, reply.body)).toBeUndefined();
  for (const [name, header] of Object.entries(response.headers ?? {})) {
    const value = reply.headers.get(name);
    expect({ name, value }).toEqual({ name, value: expect.any(String) as unknown });
    const typed = header.schema.type === 'integer' ? Number(value) : value;
    expect(validate(header.schema, typed)).toBeUndefined();
  }
}

describe('/docs-json: the OpenAPI document', () => {
  let svc: RunningService;
  let doc: OpenApiDoc;

  beforeAll(async () => {
    svc = await startService({}, await builtApp());
    doc = (await fetchDoc(svc.url)).doc;
  });

  afterAll(async () => {
    await svc?.close();
    if (svc) await dropDatabase(svc.influxUrl, svc.database);
  });

  it('answers 200 JSON without a token, or with a bad one, and is an OpenAPI 3.x document', async () => {
    const anonymous = await fetchDoc(svc.url);
    const badToken = await fetchDoc(svc.url, { Authorization: 'Token nope' });

    expect(anonymous.status).toBe(200);
    expect(anonymous.contentType).toMatch(/^application\/json/);
    expect(badToken.status).toBe(200);
    expect(anonymous.doc.openapi).toMatch(/^3\.\d+\.\d+$/);
    expect(anonymous.doc.info).toMatchObject({ title: 'stats-service', version: '2.0.0' });
    expect(badToken.doc).toEqual(anonymous.doc);
  });

  it('documents exactly the routes of the service, each with exactly its methods', () => {
    const methods = Object.fromEntries(
      Object.entries(doc.paths).map(([path, item]) => [path, Object.keys(item).sort()]),
    );

    expect(methods).toEqual(
      Object.fromEntries(Object.entries(ROUTES).map(([path, route]) => [path, route.methods])),
    );
  });

  it('defines the Token scheme: an API key in the Authorization header, `Token <t>` or Bearer', () => {
    const scheme = doc.components.securitySchemes.Token;

    expect(scheme).toMatchObject({ type: 'apiKey', in: 'header', name: 'Authorization' });
    expect(scheme?.description).toContain('`Token <t>`');
    expect(scheme?.description).toContain('Bearer');
  });

  it.each(OPERATIONS)('$method $path: security is the Token scheme iff it needs a token', (op) => {
    expect(doc.security).toBeUndefined();
    expect(operation(doc, op.path, op.method).security).toEqual(
      op.token ? [{ Token: [] }] : undefined,
    );
  });

  it.each(TOKEN_OPERATIONS)(
    '$method $path: 401 with WWW-Authenticate, 403 naming the scope, 429 with Retry-After',
    ({ path, method }) => {
      const unauthorized = documented(doc, path, method, 401);
      const forbidden = documented(doc, path, method, 403);
      const tooMany = documented(doc, path, method, 429);

      expect(forbidden.content?.[JSON_TYPE]?.schema).toEqual({
        $ref: '#/components/schemas/HttpError',
      });
      expect(forbidden.content?.[JSON_TYPE]?.example).toMatchObject({
        statusCode: 403,
        scope: expect.stringMatching(/^(read|write)$/) as unknown,
      });

      expect(unauthorized.headers?.['WWW-Authenticate']?.schema).toEqual({
        type: 'string',
        enum: ['Token'],
      });
      expect(unauthorized.content?.[JSON_TYPE]?.schema).toEqual({
        $ref: '#/components/schemas/HttpError',
      });
      expect(tooMany.headers?.['Retry-After']?.schema).toMatchObject({ type: 'integer' });
      expect(tooMany.content?.[JSON_TYPE]?.schema).toEqual({
        $ref: '#/components/schemas/RetryLater',
      });
    },
  );

  it.each(POST_PATHS)(
    'POST %s: 200, 202 (spooled, same body), 400, 413, 415, and 503 with Retry-After',
    (path) => {
      const responses = operation(doc, path, 'post').responses;

      expect(Object.keys(responses).sort()).toEqual(
        ['200', '202', '400', '401', '403', '413', '415', '429', '503'].sort(),
      );
      expect(responses['202']?.content?.[JSON_TYPE]?.schema).toEqual(
        responses['200']?.content?.[JSON_TYPE]?.schema,
      );
      expect(responses['503']?.headers?.['Retry-After']?.schema).toEqual({
        type: 'integer',
        minimum: 1,
      });
      expect(responses['503']?.content?.[JSON_TYPE]?.schema).toEqual({
        $ref: '#/components/schemas/RetryLater',
      });
      expect(responses['400']?.content?.[JSON_TYPE]?.schema).toEqual({
        anyOf: [
          { $ref: '#/components/schemas/Refusal' },
          { $ref: '#/components/schemas/HttpError' },
        ],
      });
    },
  );

  it('POST /log/event takes oneOf an event object or an array of points', () => {
    const body = operation(doc, '/log/event', 'post').requestBody;

    expect(body?.required).toBe(true);
    expect(body?.content[JSON_TYPE]?.schema).toEqual({
      oneOf: [{ $ref: '#/components/schemas/Event' }, { $ref: '#/components/schemas/Points' }],
    });
    expect(doc.components.schemas.Event).toMatchObject({
      type: 'object',
      required: ['event', 'uid'],
    });
    expect(doc.components.schemas.Points).toMatchObject({
      type: 'array',
      items: { $ref: '#/components/schemas/Point' },
    });
  });

  it('the schemas tell an event from points, and refuse what the service refuses', () => {
    const validate = schemaValidator(doc);
    const body = operation(doc, '/log/event', 'post').requestBody!.content[JSON_TYPE]!.schema!;

    expect({
      event: validate(body, { event: 'e', uid: '', nested: { a: 1, b: null } }),
      points: validate(body, [{ measurement: 'm', tags: null, fields: { v: 1 } }]),
      noUid: validate(body, { event: 'e' }) === undefined,
      time: validate(body, { event: 'e', uid: 'u', time: 1 }) === undefined,
      array: validate(body, { event: 'e', uid: 'u', list: [1] }) === undefined,
      badKey: validate(body, { event: 'e', uid: 'u', 'a\\': 1 }) === undefined,
      dashedKey: validate(body, { event: 'e', uid: 7, 'tags_app-name': 'x' }) === undefined,
      noPoints: validate(body, []) === undefined,
      pointKey: validate(body, [{ measurement: 'm', fields: { v: 1 }, extra: 1 }]) === undefined,
    }).toEqual({
      event: undefined,
      points: undefined,
      noUid: false,
      time: false,
      array: false,
      badKey: false,
      dashedKey: true,
      noPoints: true,
      pointKey: true,
    });
  });

  it('GET /log/event/{id}: the flat event with X-Event-Status, 404, and 503 with Retry-After', () => {
    const op = operation(doc, '/log/event/{id}', 'get');

    expect(op.parameters).toEqual([
      expect.objectContaining({ name: 'id', in: 'path', schema: { type: 'string' } }),
    ]);
    expect(op.responses['200']?.headers?.['X-Event-Status']?.schema).toEqual({
      type: 'string',
      enum: ['stored', 'queued'],
    });
    expect(op.responses['200']?.content?.[JSON_TYPE]?.schema).toEqual({
      $ref: '#/components/schemas/StoredEvent',
    });
    expect(Object.keys(op.responses).sort()).toEqual(['200', '401', '403', '404', '429', '503']);
    expect(op.responses['503']?.headers?.['Retry-After']).toBeDefined();
  });

  it('documents liveness, readiness (200 and 503) and the Prometheus text', () => {
    expect(documented(doc, '/ping', 'get', 200).content?.[JSON_TYPE]?.schema).toEqual({
      $ref: '#/components/schemas/Liveness',
    });
    expect(documented(doc, '/ping', 'head', 200).content).toBeUndefined();
    for (const status of [200, 503]) {
      expect(documented(doc, '/ready', 'get', status).content?.[JSON_TYPE]?.schema).toEqual({
        $ref: '#/components/schemas/Readiness',
      });
    }
    expect(Object.keys(documented(doc, '/metrics', 'get', 200).content ?? {})).toEqual([
      'text/plain; version=0.0.4; charset=utf-8',
    ]);
    expect(documented(doc, '/metrics', 'get', 404)).toBeDefined();
  });

  it('has unique operation ids', () => {
    const ids = OPERATIONS.map((op) => operation(doc, op.path, op.method).operationId);

    expect(new Set(ids).size).toBe(ids.length);
    expect(ids.every((id) => typeof id === 'string' && /^[a-zA-Z]+$/.test(id))).toBe(true);
  });

  it('every documented example validates against the schema it belongs to', () => {
    const validate = schemaValidator(doc);
    const examples: Array<{ where: string; schema: JsonSchema; value: unknown }> = [];
    for (const [name, schema] of Object.entries(doc.components.schemas)) {
      for (const [i, value] of ((schema.examples as unknown[] | undefined) ?? []).entries()) {
        examples.push({ where: `schema ${name}[${i}]`, schema, value });
      }
    }
    const fromMedia = (where: string, content: Record<string, Media> = {}) => {
      for (const [type, media] of Object.entries(content)) {
        if (!media.schema) continue;
        if ('example' in media) {
          examples.push({ where: `${where} ${type}`, schema: media.schema, value: media.example });
        }
        for (const [name, example] of Object.entries(media.examples ?? {})) {
          examples.push({
            where: `${where} ${type} ${name}`,
            schema: media.schema,
            value: example.value,
          });
        }
      }
    };
    for (const { path, method } of OPERATIONS) {
      const op = operation(doc, path, method);
      fromMedia(`${method} ${path} body`, op.requestBody?.content);
      for (const [status, response] of Object.entries(op.responses)) {
        fromMedia(`${method} ${path} ${status}`, response.content);
      }
      for (const parameter of op.parameters ?? []) {
        if (parameter.schema && 'example' in parameter) {
          examples.push({
            where: `${method} ${path} ${parameter.name}`,
            schema: parameter.schema,
            value: parameter.example,
          });
        }
      }
    }

    expect(examples.length).toBeGreaterThan(10);
    expect(
      examples
        .map(({ where, schema, value }) => ({ where, error: validate(schema, value) }))
        .filter(({ error }) => error !== undefined),
    ).toEqual([]);
  });
});

describe('/docs: the Swagger UI', () => {
  let svc: RunningService;

  beforeAll(async () => {
    svc = await startService({}, await builtApp());
  });

  afterAll(async () => {
    await svc?.close();
    if (svc) await dropDatabase(svc.influxUrl, svc.database);
  });

  it.each(['/docs', '/docs/'])(
    'GET %s answers the HTML without a token, and its scripts and styles load from the service',
    async (path) => {
      const page = await fetch(`${svc.url}${path}`);
      const html = await page.text();
      const assets = [...html.matchAll(/\b(?:src|href)=["']([^"']+)["']/g)].map((m) => m[1]!);

      expect(page.status).toBe(200);
      expect(page.headers.get('content-type')).toMatch(/^text\/html/);
      expect(assets.filter((asset) => /^(?:[a-z]+:)?\/\//i.test(asset))).toEqual([]);
      expect(assets.filter((asset) => /\.(?:js|css)$/.test(asset)).length).toBeGreaterThanOrEqual(
        4,
      );
      const loaded = await Promise.all(
        assets.map(async (asset) => {
          const response = await fetch(new URL(asset, `${svc.url}${path}`));
          await response.arrayBuffer();
          return { asset, status: response.status, type: response.headers.get('content-type') };
        }),
      );
      for (const { asset, status, type } of loaded) {
        expect({ asset, status }).toEqual({ asset, status: 200 });
        const expected = asset.endsWith('.css')
          ? /^text\/css/
          : asset.endsWith('.js')
            ? /javascript/
            : /^image\//;
        expect({ asset, type }).toEqual({
          asset,
          type: expect.stringMatching(expected) as unknown,
        });
      }
    },
  );

  it('the UI is initialised with the document, and asks no online validator', async () => {
    const init = await (await fetch(`${svc.url}/docs/swagger-ui-init.js`)).text();

    expect(init).toContain('"openapi": "3.1.0"');
    expect(init).toContain('"validatorUrl": null');
  });

  it('the UI script holds the document of /docs-json unchanged (descriptions hold $` patterns)', async () => {
    const init = await (await fetch(`${svc.url}/docs/swagger-ui-init.js`)).text();
    const { doc } = await fetchDoc(svc.url);
    const declaration = init.slice(init.indexOf('let options = '), init.indexOf('url = options'));
    const options = runInNewContext(`${declaration}; options`) as { swaggerDoc: unknown };

    expect(JSON.stringify(doc)).toContain('$`');
    expect(options.swaggerDoc).toEqual(doc);
  });
});

describe('the documented schemas match what the service answers', () => {
  let svc: RunningService;
  let doc: OpenApiDoc;
  let validate: ReturnType<typeof schemaValidator>;

  beforeAll(async () => {
    svc = await startService({ MAX_BODY_BYTES: '4096' }, await builtApp());
    doc = (await fetchDoc(svc.url)).doc;
    validate = schemaValidator(doc);
  });

  afterAll(async () => {
    await svc?.close();
    if (svc) await dropDatabase(svc.influxUrl, svc.database);
  });

  it.each(['/', '/ping', '/ready'])('GET %s', async (path) => {
    expectDocumented(doc, path, 'get', await get(`${svc.url}${path}`, {}), validate);
  });

  it('POST /log/event with an event, then GET /log/event/{id} of it', async () => {
    const logged = await post(`${svc.url}/log/event`, {
      event: 'openapi',
      uid: 'u1',
      n: 1,
      ok: true,
      nested: { s: 'x' },
    });
    const read = await get(`${svc.url}/log/event/${String(logged.body)}`);

    expect([logged.status, read.status]).toEqual([200, 200]);
    expectDocumented(doc, '/log/event', 'post', logged, validate);
    expectDocumented(doc, '/log/event/{id}', 'get', read, validate);
  });

  it('POST /log/event with points', async () => {
    const reply = await post(`${svc.url}/log/event`, [
      { measurement: 'openapi_points', tags: { host: 'a' }, fields: { v: 1.5 } },
    ]);

    expect(reply.body).toBe('OK');
    expectDocumented(doc, '/log/event', 'post', reply, validate);
  });

  it('POST /log/events with a valid and an invalid event, and with no valid one', async () => {
    const mixed = await post(`${svc.url}/log/events`, [{ event: 'e', uid: 'u' }, { uid: 'u' }]);
    const none = await post(`${svc.url}/log/events`, [{ uid: 'u' }, 5]);

    expect([mixed.status, none.status]).toEqual([200, 400]);
    expectDocumented(doc, '/log/events', 'post', mixed, validate);
    expectDocumented(doc, '/log/events', 'post', none, validate);
    expect(validate({ $ref: '#/components/schemas/Refusal' }, none.body)).toBeUndefined();
  });

  it('400: a refused key, an element of points, and a body that is not JSON', async () => {
    const replies = await Promise.all([
      post(`${svc.url}/log/event`, { event: 'e', uid: 'u', 'a\\': 1 }),
      post(`${svc.url}/log/event`, [{ measurement: 'm', fields: { v: [1] } }]),
      post(`${svc.url}/log/event`, '{not json'),
    ]);

    expect(replies.map((reply) => reply.status)).toEqual([400, 400, 400]);
    for (const reply of replies) expectDocumented(doc, '/log/event', 'post', reply, validate);
    for (const reply of replies.slice(0, 2)) {
      expect(validate({ $ref: '#/components/schemas/Refusal' }, reply.body)).toBeUndefined();
    }
  });

  it('400: a field type conflict names both types', async () => {
    const first = await post(`${svc.url}/log/event`, { event: 'typed', uid: 'u', level: 1 });
    const conflict = await post(`${svc.url}/log/event`, { event: 'typed', uid: 'u', level: 'x' });

    expect([first.status, conflict.status]).toEqual([200, 400]);
    expectDocumented(doc, '/log/event', 'post', conflict, validate);
    expect(conflict.body).toMatchObject({ stored: 'float', incoming: 'string' });
  });

  it.each(['/log/event', '/log/events', '/log/event/entry_0'])(
    '401 on %s without a token, with WWW-Authenticate',
    async (path) => {
      const method = path.includes('entry_') ? 'get' : 'post';
      const reply =
        method === 'get'
          ? await get(`${svc.url}${path}`, {})
          : await post(`${svc.url}${path}`, [], {});
      const documentedPath = method === 'get' ? '/log/event/{id}' : path;

      expect(reply.status).toBe(401);
      expectDocumented(doc, documentedPath, method, reply, validate);
    },
  );

  it('404: an unknown event id', async () => {
    const reply = await get(`${svc.url}/log/event/entry_${'0'.repeat(32)}`);

    expect(reply.status).toBe(404);
    expectDocumented(doc, '/log/event/{id}', 'get', reply, validate);
  });

  it('413: a body over MAX_BODY_BYTES; 415: an unknown Content-Encoding', async () => {
    const tooLarge = await post(`${svc.url}/log/event`, { event: 'e', uid: 'x'.repeat(5000) });
    const encoding = await post(`${svc.url}/log/events`, [{ event: 'e', uid: 'u' }], {
      ...AUTH,
      'content-encoding': 'compress',
    });

    expect([tooLarge.status, encoding.status]).toEqual([413, 415]);
    expectDocumented(doc, '/log/event', 'post', tooLarge, validate);
    expectDocumented(doc, '/log/events', 'post', encoding, validate);
  });

  it('GET /metrics answers the documented content type', async () => {
    const reply = await get(`${svc.url}/metrics`, {});
    const content = documented(doc, '/metrics', 'get', 200).content ?? {};

    expect(reply.status).toBe(200);
    expect(Object.keys(content)).toEqual([reply.headers.get('content-type')]);
  });
});

describe('the documented schemas match the answers of a rate-limited service', () => {
  let svc: RunningService;

  beforeAll(async () => {
    svc = await startService(
      { RATE_LIMIT_PER_SECOND: '1', RATE_LIMIT_BURST: '1' },
      await builtApp(),
    );
  });

  afterAll(async () => {
    await svc?.close();
    if (svc) await dropDatabase(svc.influxUrl, svc.database);
  });

  it('429 with Retry-After once the burst is spent', async () => {
    const { doc } = await fetchDoc(svc.url);
    await post(`${svc.url}/log/event`, { event: 'e', uid: 'u' });
    const reply = await post(`${svc.url}/log/event`, { event: 'e', uid: 'u' });

    expect(reply.status).toBe(429);
    expectDocumented(doc, '/log/event', 'post', reply, schemaValidator(doc));
  });
});

describe('the documented schemas match the answers while InfluxDB is unreachable', () => {
  let svc: RunningService;
  let doc: OpenApiDoc;
  let validate: ReturnType<typeof schemaValidator>;

  beforeAll(async () => {
    svc = await startService(
      { INFLUX_URL: `http://127.0.0.1:${await freePort()}` },
      await builtApp(),
    );
    doc = (await fetchDoc(svc.url)).doc;
    validate = schemaValidator(doc);
  });

  afterAll(async () => {
    await svc?.close();
  });

  it('202 for an event, points and a batch, and the queued event reads back', async () => {
    const event = await post(`${svc.url}/log/event`, { event: 'down', uid: 'u' });
    const points = await post(`${svc.url}/log/event`, [{ measurement: 'm', fields: { v: 1 } }]);
    const batch = await post(`${svc.url}/log/events`, [{ event: 'down', uid: 'u' }, {}]);
    const read = await get(`${svc.url}/log/event/${String(event.body)}`);

    expect([event.status, points.status, batch.status, read.status]).toEqual([202, 202, 202, 200]);
    expectDocumented(doc, '/log/event', 'post', event, validate);
    expectDocumented(doc, '/log/event', 'post', points, validate);
    expectDocumented(doc, '/log/events', 'post', batch, validate);
    expectDocumented(doc, '/log/event/{id}', 'get', read, validate);
    expect(read.headers.get('x-event-status')).toBe('queued');
  });

  it('503 with Retry-After for an event neither spooled nor readable', async () => {
    const reply = await get(`${svc.url}/log/event/entry_${'0'.repeat(32)}`);

    expect(reply.status).toBe(503);
    expectDocumented(doc, '/log/event/{id}', 'get', reply, validate);
  });

  it('GET /ready: 503 with the readiness body', async () => {
    const reply = await get(`${svc.url}/ready`, {});

    expect(reply.status).toBe(503);
    expectDocumented(doc, '/ready', 'get', reply, validate);
  });
});
