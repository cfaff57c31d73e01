import { ConfigError } from '../env';
import { authConfig, parseAuthConfig } from './auth.config';

const SECRET = '0123456789abcdef'.repeat(8);
const TOKEN = 'a-token-value';

function configErrorOf(run: () => unknown): ConfigError {
  try {
    run();
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe(parseAuthConfig.name, () => {
  it('defaults to ./access.json outside production, without a rate limit', () => {
    expect(parseAuthConfig({})).toEqual({
      accessJsonPath: './access.json',
      envToken: undefined,
      envSecret: undefined,
      production: false,
      rateLimitPerSecond: 0,
      rateLimitBurst: 0,
    });
  });

  it('reads ACCESS_JSON', () => {
    expect(parseAuthConfig({ ACCESS_JSON: '/etc/stats/access.json' }).accessJsonPath).toBe(
      '/etc/stats/access.json',
    );
  });

  it('treats a blank ACCESS_JSON as unset', () => {
    expect(parseAuthConfig({ ACCESS_JSON: '  ' }).accessJsonPath).toBe('./access.json');
  });

  it('reads the token and secret pair', () => {
    const config = parseAuthConfig({ STATS_ACCESS_TOKEN: TOKEN, STATS_ACCESS_SECRET: SECRET });
    expect(config.envToken).toBe(TOKEN);
    expect(config.envSecret).toBe(SECRET);
  });

  it.each([
    ['only the token', { STATS_ACCESS_TOKEN: TOKEN }],
    ['only the secret', { STATS_ACCESS_SECRET: SECRET }],
    ['a blank secret', { STATS_ACCESS_TOKEN: TOKEN, STATS_ACCESS_SECRET: ' ' }],
  ])('refuses %s, naming both variables', (_case, env) => {
    expect(configErrorOf(() => parseAuthConfig(env)).message).toBe(
      'STATS_ACCESS_TOKEN and STATS_ACCESS_SECRET must be set together',
    );
  });

  it.each([
    ['too short', SECRET.slice(2)],
    ['not hexadecimal', `${SECRET.slice(1)}z`],
  ])(
    'refuses a secret that is %s, naming the variable and the rule but not the value',
    (_case, secret) => {
      const error = configErrorOf(() =>
        parseAuthConfig({ STATS_ACCESS_TOKEN: TOKEN, STATS_ACCESS_SECRET: secret }),
      );
      expect(error.message).toBe('STATS_ACCESS_SECRET must be 128 hexadecimal characters');
      expect(error.message).not.toContain(secret.slice(0, 16));
    },
  );

  it.each([
    ['production', true],
    [' production ', true],
    ['PRODUCTION', true],
    ['Production', true],
    ['\tProduction\n', true],
    ['development', false],
    ['productions', false],
    ['pro duction', false],
  ])('reads NODE_ENV=%p as production: %p', (nodeEnv, expected) => {
    expect(parseAuthConfig({ NODE_ENV: nodeEnv }).production).toBe(expected);
  });

  describe('rate limit', () => {
    it('defaults the burst to two seconds at the rate', () => {
      expect(parseAuthConfig({ RATE_LIMIT_PER_SECOND: '5' })).toMatchObject({
        rateLimitPerSecond: 5,
        rateLimitBurst: 10,
      });
    });

    it('reads RATE_LIMIT_BURST', () => {
      expect(
        parseAuthConfig({ RATE_LIMIT_PER_SECOND: ' 2 ', RATE_LIMIT_BURST: '3' }),
      ).toMatchObject({ rateLimitPerSecond: 2, rateLimitBurst: 3 });
    });

    it('treats 0 and a blank value as no limit', () => {
      expect(parseAuthConfig({ RATE_LIMIT_PER_SECOND: '0' }).rateLimitPerSecond).toBe(0);
      expect(parseAuthConfig({ RATE_LIMIT_PER_SECOND: ' ' }).rateLimitPerSecond).toBe(0);
    });

    it.each([
      ['RATE_LIMIT_PER_SECOND', '1.5', 'RATE_LIMIT_PER_SECOND must be a whole number'],
      ['RATE_LIMIT_PER_SECOND', '-1', 'RATE_LIMIT_PER_SECOND must be a whole number'],
      ['RATE_LIMIT_PER_SECOND', '1000001', 'RATE_LIMIT_PER_SECOND must be between 0 and 1000000'],
      ['RATE_LIMIT_BURST', 'many', 'RATE_LIMIT_BURST must be a whole number'],
      ['RATE_LIMIT_BURST', '0', 'RATE_LIMIT_BURST must be between 1 and 2000000'],
    ])('refuses %s=%j, naming the variable and the rule', (name, raw, message) => {
      const error = configErrorOf(() =>
        parseAuthConfig({ RATE_LIMIT_PER_SECOND: '1', [name]: raw }),
      );
      expect(error.message).toBe(message);
    });
  });
});

describe('authConfig', () => {
  const saved = process.env;

  afterEach(() => {
    process.env = saved;
  });

  it('is registered under the auth namespace and reads process.env', () => {
    process.env = { ...saved, ACCESS_JSON: '/from/process/env.json' };
    expect(authConfig.KEY).toBe('CONFIGURATION(auth)');
    expect(authConfig().accessJsonPath).toBe('/from/process/env.json');
  });
});
