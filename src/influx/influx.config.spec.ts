import { ConfigError, Env } from '../env';
import { parseInfluxConfig } from './influx.config';

const PASSWORD = 'pa55-w0rd-never-logged';
const TOKEN = 'tok3n-never-logged==';

function configErrorOf(run: () => unknown): ConfigError {
  try {
    run();
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe(parseInfluxConfig.name, () => {
  it('defaults to InfluxDB 1.x on localhost, database stats, 10 s timeout (README "Configuration")', () => {
    expect(parseInfluxConfig({})).toEqual({
      url: 'http://127.0.0.1:8086',
      api: 'v1',
      database: 'stats',
      retentionPolicy: undefined,
      username: undefined,
      password: undefined,
      token: undefined,
      org: undefined,
      bucket: undefined,
      timeoutMs: 10_000,
      batchLines: 5000,
      writeConcurrency: 4,
    });
  });

  it('reads every v1 setting', () => {
    expect(
      parseInfluxConfig({
        INFLUX_URL: 'https://influx.example.com:8443',
        INFLUX_DATABASE: 'events',
        INFLUX_RETENTION_POLICY: 'one_year',
        INFLUX_USERNAME: 'writer',
        INFLUX_PASSWORD: PASSWORD,
        INFLUX_TIMEOUT_MS: '2500',
      }),
    ).toEqual({
      url: 'https://influx.example.com:8443',
      api: 'v1',
      database: 'events',
      retentionPolicy: 'one_year',
      username: 'writer',
      password: PASSWORD,
      token: undefined,
      org: undefined,
      bucket: undefined,
      timeoutMs: 2500,
      batchLines: 5000,
      writeConcurrency: 4,
    });
  });

  describe('INFLUX_URL', () => {
    it.each([
      ['http://influx:8086/', 'http://influx:8086'],
      ['http://influx:8086/proxy/influx//', 'http://influx:8086/proxy/influx'],
      ['  http://influx:8086  ', 'http://influx:8086'],
      ['HTTP://Influx:8086', 'http://influx:8086'],
    ])('normalises %j to %j', (raw, expected) => {
      expect(parseInfluxConfig({ INFLUX_URL: raw }).url).toBe(expected);
    });

    it('treats a blank value as unset', () => {
      expect(parseInfluxConfig({ INFLUX_URL: ' ' }).url).toBe('http://127.0.0.1:8086');
    });

    it.each(['influx:8086', 'not a url', 'ftp://influx:8086', 'file:///var/run/influx.sock'])(
      'refuses %j, naming the rule but not the value',
      (raw) => {
        const error = configErrorOf(() => parseInfluxConfig({ INFLUX_URL: raw }));
        expect(error.message).toBe('INFLUX_URL must be an http:// or https:// URL');
        expect(error.message).not.toContain(raw);
      },
    );

    it.each(['http://admin:s3cret-in-url@influx:8086', 'http://admin@influx:8086'])(
      'refuses credentials in %j without echoing them',
      (raw) => {
        const error = configErrorOf(() => parseInfluxConfig({ INFLUX_URL: raw }));
        expect(error.message).toBe(
          'INFLUX_URL must not carry credentials; use INFLUX_USERNAME/INFLUX_PASSWORD or INFLUX_TOKEN',
        );
        expect(error.message).not.toContain('s3cret-in-url');
        expect(error.message).not.toContain('admin');
      },
    );
  });

  describe('API selection', () => {
    it('picks v2 when INFLUX_TOKEN and INFLUX_BUCKET are both set', () => {
      expect(
        parseInfluxConfig({ INFLUX_TOKEN: TOKEN, INFLUX_BUCKET: 'analytics', INFLUX_ORG: 'acme' }),
      ).toEqual({
        url: 'http://127.0.0.1:8086',
        api: 'v2',
        database: 'analytics',
        retentionPolicy: undefined,
        username: undefined,
        password: undefined,
        token: TOKEN,
        org: 'acme',
        bucket: 'analytics',
        timeoutMs: 10_000,
        batchLines: 5000,
        writeConcurrency: 4,
      });
    });

    it('reads through a database/retention-policy bucket name as its database', () => {
      const config = parseInfluxConfig({ INFLUX_TOKEN: TOKEN, INFLUX_BUCKET: 'stats/autogen' });
      expect(config.api).toBe('v2');
      expect(config.bucket).toBe('stats/autogen');
      expect(config.database).toBe('stats');
    });

    it('lets INFLUX_DATABASE name the database queries read in v2', () => {
      const config = parseInfluxConfig({
        INFLUX_TOKEN: TOKEN,
        INFLUX_BUCKET: 'analytics',
        INFLUX_DATABASE: 'analytics_db',
      });
      expect(config.database).toBe('analytics_db');
    });

    it.each<[string, Env]>([
      ['only a token', { INFLUX_TOKEN: TOKEN }],
      ['only a bucket', { INFLUX_BUCKET: 'analytics' }],
      ['a blank token', { INFLUX_TOKEN: '  ', INFLUX_BUCKET: 'analytics' }],
    ])('stays on v1 with %s', (_case, env) => {
      const config = parseInfluxConfig(env);
      expect(config.api).toBe('v1');
      expect(config.database).toBe('stats');
    });

    it('keeps v1 when INFLUX_API says so, even with a token and a bucket', () => {
      const config = parseInfluxConfig({
        INFLUX_API: 'v1',
        INFLUX_TOKEN: TOKEN,
        INFLUX_BUCKET: 'analytics',
      });
      expect(config.api).toBe('v1');
      expect(config.database).toBe('stats');
    });

    it('accepts INFLUX_API in any case', () => {
      expect(
        parseInfluxConfig({ INFLUX_API: 'V2', INFLUX_TOKEN: TOKEN, INFLUX_BUCKET: 'b' }).api,
      ).toBe('v2');
    });

    it.each<[string, Env]>([
      ['no token', { INFLUX_API: 'v2', INFLUX_BUCKET: 'analytics' }],
      ['no bucket', { INFLUX_API: 'v2', INFLUX_TOKEN: TOKEN }],
    ])('refuses INFLUX_API=v2 with %s', (_case, env) => {
      const error = configErrorOf(() => parseInfluxConfig(env));
      expect(error.message).toBe('INFLUX_API=v2 needs INFLUX_TOKEN and INFLUX_BUCKET');
      expect(error.message).not.toContain(TOKEN);
    });

    it('refuses an unknown INFLUX_API', () => {
      const error = configErrorOf(() => parseInfluxConfig({ INFLUX_API: 'v3' }));
      expect(error.message).toBe('INFLUX_API must be one of: v1, v2');
    });
  });

  describe('credentials', () => {
    it.each<[string, Env]>([
      ['a username without a password', { INFLUX_USERNAME: 'writer' }],
      ['a password without a username', { INFLUX_PASSWORD: PASSWORD }],
      ['a blank password', { INFLUX_USERNAME: 'writer', INFLUX_PASSWORD: ' ' }],
    ])('refuses %s', (_case, env) => {
      const error = configErrorOf(() => parseInfluxConfig(env));
      expect(error.message).toBe('INFLUX_USERNAME and INFLUX_PASSWORD must be set together');
      expect(error.message).not.toContain(PASSWORD);
    });
  });

  describe('INFLUX_DATABASE', () => {
    it.each(['st"ats', 'st\nats'])(
      'refuses %j, which would break out of an InfluxQL name',
      (raw) => {
        const error = configErrorOf(() => parseInfluxConfig({ INFLUX_DATABASE: raw }));
        expect(error.message).toBe('INFLUX_DATABASE must not contain double quotes or line breaks');
        expect(error.message).not.toContain(raw);
      },
    );

    it('refuses a v2 bucket whose database part holds a quote', () => {
      const error = configErrorOf(() =>
        parseInfluxConfig({ INFLUX_TOKEN: TOKEN, INFLUX_BUCKET: 'a"b/autogen' }),
      );
      expect(error.message).toBe('INFLUX_DATABASE must not contain double quotes or line breaks');
    });
  });

  describe('INFLUX_TIMEOUT_MS', () => {
    it.each([
      ['100', 100],
      ['600000', 600_000],
    ])('accepts the bound %j', (raw, expected) => {
      expect(parseInfluxConfig({ INFLUX_TIMEOUT_MS: raw }).timeoutMs).toBe(expected);
    });

    it.each([
      ['99', 'INFLUX_TIMEOUT_MS must be between 100 and 600000'],
      ['600001', 'INFLUX_TIMEOUT_MS must be between 100 and 600000'],
      ['10s', 'INFLUX_TIMEOUT_MS must be a whole number'],
    ])('refuses %j', (raw, message) => {
      expect(configErrorOf(() => parseInfluxConfig({ INFLUX_TIMEOUT_MS: raw })).message).toBe(
        message,
      );
    });
  });

  describe('group commit', () => {
    it('reads WRITE_BATCH_LINES and WRITE_CONCURRENCY', () => {
      const config = parseInfluxConfig({ WRITE_BATCH_LINES: '100', WRITE_CONCURRENCY: '8' });
      expect(config.batchLines).toBe(100);
      expect(config.writeConcurrency).toBe(8);
    });

    it.each([
      ['WRITE_BATCH_LINES', '0', 'WRITE_BATCH_LINES must be between 1 and 100000'],
      ['WRITE_BATCH_LINES', '100001', 'WRITE_BATCH_LINES must be between 1 and 100000'],
      ['WRITE_CONCURRENCY', '0', 'WRITE_CONCURRENCY must be between 1 and 64'],
      ['WRITE_CONCURRENCY', '65', 'WRITE_CONCURRENCY must be between 1 and 64'],
      ['WRITE_CONCURRENCY', 'two', 'WRITE_CONCURRENCY must be a whole number'],
    ])('refuses %s=%j', (name, raw, message) => {
      expect(configErrorOf(() => parseInfluxConfig({ [name]: raw })).message).toBe(message);
    });
  });

  it.each<[string, Env]>([
    ['a bad URL', { INFLUX_URL: 'ftp://x' }],
    ['credentials in the URL', { INFLUX_URL: `http://u:${PASSWORD}@x` }],
    ['v2 without a bucket', { INFLUX_API: 'v2' }],
    ['an unknown API', { INFLUX_API: 'v9' }],
    ['a password alone', {}],
    ['a bad database', { INFLUX_DATABASE: 'a"b', INFLUX_USERNAME: 'u' }],
    ['a bad timeout', { INFLUX_TIMEOUT_MS: '-1', INFLUX_USERNAME: 'u' }],
  ])('never puts INFLUX_PASSWORD or INFLUX_TOKEN in the message for %s', (_case, env) => {
    const error = configErrorOf(() =>
      parseInfluxConfig({ INFLUX_PASSWORD: PASSWORD, INFLUX_TOKEN: TOKEN, ...env }),
    );
    expect(error.message).toMatch(/^INFLUX_/);
    expect(error.message).not.toContain(PASSWORD);
    expect(error.message).not.toContain(TOKEN);
  });
});
