import { ConfigError } from '../env';
import { parseHttpConfig } from './http.config';

function configErrorOf(run: () => unknown): ConfigError {
  try {
    run();
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe(parseHttpConfig.name, () => {
  it('defaults to the original port on every interface, 1 MiB bodies, info logs (README "Configuration")', () => {
    expect(parseHttpConfig({})).toEqual({
      port: 20080,
      host: '0.0.0.0',
      maxBodyBytes: 1_048_576,
      logLevel: 'info',
      logFormat: 'json',
      shutdownTimeoutMs: 10_000,
      admissionConcurrency: 64,
      admissionTimeoutMs: 1000,
      obsolete: [],
    });
  });

  it('opens no liveness listener unless HEALTH_PORT is set', () => {
    expect(parseHttpConfig({}).healthPort).toBeUndefined();
    expect(parseHttpConfig({ HEALTH_PORT: ' ' }).healthPort).toBeUndefined();
    expect(parseHttpConfig({ HEALTH_PORT: '20081' }).healthPort).toBe(20081);
  });

  it.each([
    [{ HEALTH_PORT: 'abc' }, 'HEALTH_PORT must be a whole number'],
    [{ HEALTH_PORT: '0' }, 'HEALTH_PORT must be between 1 and 65535'],
    [{ HEALTH_PORT: '20080' }, 'HEALTH_PORT must differ from PORT'],
    [{ PORT: '9000', HEALTH_PORT: '9000' }, 'HEALTH_PORT must differ from PORT'],
  ])('refuses HEALTH_PORT in %o: %s', (env, message) => {
    expect(configErrorOf(() => parseHttpConfig(env)).message).toBe(message);
  });

  it('writes readable lines to a terminal, JSON in production whatever stdout is', () => {
    expect(parseHttpConfig({}, true).logFormat).toBe('pretty');
    expect(parseHttpConfig({ NODE_ENV: 'production' }, true).logFormat).toBe('json');
  });

  it('reads every variable', () => {
    expect(
      parseHttpConfig({
        PORT: '8080',
        HOST: ' 127.0.0.1 ',
        MAX_BODY_BYTES: '65536',
        LOG_LEVEL: 'DEBUG',
        SHUTDOWN_TIMEOUT_MS: '2500',
        ADMISSION_CONCURRENCY: '16',
        ADMISSION_TIMEOUT_MS: '2500',
      }),
    ).toEqual({
      port: 8080,
      host: '127.0.0.1',
      maxBodyBytes: 65_536,
      logLevel: 'debug',
      logFormat: 'json',
      shutdownTimeoutMs: 2500,
      admissionConcurrency: 16,
      admissionTimeoutMs: 2500,
      obsolete: [],
    });
  });

  it('accepts ADMISSION_CONCURRENCY=0 (no admission control)', () => {
    expect(parseHttpConfig({ ADMISSION_CONCURRENCY: '0' }).admissionConcurrency).toBe(0);
  });

  it('names the load-shedding variables of earlier versions that are set, so they can be reported as ignored', () => {
    expect(
      parseHttpConfig({
        SHED_EVENT_LOOP_DELAY_MS: '100',
        SHED_EVENT_LOOP_UTILIZATION: ' ',
        SHED_MAX_IN_FLIGHT: '256',
      }).obsolete,
    ).toEqual(['SHED_EVENT_LOOP_DELAY_MS', 'SHED_MAX_IN_FLIGHT']);
  });

  it.each(['0', '65535'])('accepts PORT=%s', (raw) => {
    expect(parseHttpConfig({ PORT: raw }).port).toBe(Number(raw));
  });

  it.each(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])(
    'accepts LOG_LEVEL=%s',
    (level) => {
      expect(parseHttpConfig({ LOG_LEVEL: level }).logLevel).toBe(level);
    },
  );

  it.each([
    ['PORT', '65536', 'PORT must be between 0 and 65535'],
    ['PORT', 'http', 'PORT must be a whole number'],
    ['PORT', '-1', 'PORT must be a whole number'],
    ['MAX_BODY_BYTES', '63', 'MAX_BODY_BYTES must be between 64 and 1073741824'],
    ['MAX_BODY_BYTES', '1073741825', 'MAX_BODY_BYTES must be between 64 and 1073741824'],
    ['MAX_BODY_BYTES', '1mb', 'MAX_BODY_BYTES must be a whole number'],
    ['ADMISSION_CONCURRENCY', 'many', 'ADMISSION_CONCURRENCY must be a whole number'],
    ['ADMISSION_CONCURRENCY', '100001', 'ADMISSION_CONCURRENCY must be between 0 and 100000'],
    ['ADMISSION_TIMEOUT_MS', '9', 'ADMISSION_TIMEOUT_MS must be between 10 and 600000'],
    ['ADMISSION_TIMEOUT_MS', '0.5', 'ADMISSION_TIMEOUT_MS must be a whole number'],
    [
      'LOG_LEVEL',
      'verbose',
      'LOG_LEVEL must be one of: fatal, error, warn, info, debug, trace, silent',
    ],
  ])('refuses %s=%j, naming the variable and the rule but not the value', (name, raw, message) => {
    const error = configErrorOf(() => parseHttpConfig({ [name]: raw }));
    expect(error.message).toBe(message);
    expect(error.message).not.toContain(raw);
  });
});
