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
  it('defaults to ./access.json outside production', () => {
    expect(parseAuthConfig({})).toEqual({
      accessJsonPath: './access.json',
      envToken: undefined,
      envSecret: undefined,
      production: false,
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
    ['development', false],
    ['Production', false],
  ])('reads NODE_ENV=%p as production: %p', (nodeEnv, expected) => {
    expect(parseAuthConfig({ NODE_ENV: nodeEnv }).production).toBe(expected);
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
