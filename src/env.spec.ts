import { boolean, ConfigError, Env, integer, matching, oneOf, text } from './env';

/** The ConfigError `run` throws; fails the test when it throws nothing or something else. */
function configErrorOf(run: () => unknown): ConfigError {
  try {
    run();
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe(ConfigError.name, () => {
  it('is an Error named ConfigError', () => {
    const error = new ConfigError('PORT must be a whole number');
    expect(error).toBeInstanceOf(Error);
    expect(error.name).toBe('ConfigError');
    expect(error.message).toBe('PORT must be a whole number');
  });
});

describe(text.name, () => {
  it.each<[string, Env, string | undefined]>([
    ['unset', {}, undefined],
    ['empty', { NAME: '' }, undefined],
    ['blank', { NAME: ' \t ' }, undefined],
    ['set', { NAME: 'value' }, 'value'],
    ['surrounded by blanks', { NAME: '  value  ' }, 'value'],
    ['blank inside', { NAME: ' a b ' }, 'a b'],
  ])('reads a variable that is %s', (_case, env, expected) => {
    expect(text(env, 'NAME')).toBe(expected);
  });

  it('reads only the variable it is asked for', () => {
    expect(text({ OTHER: 'x' }, 'NAME')).toBeUndefined();
  });
});

describe(integer.name, () => {
  it.each<[string, Env]>([
    ['unset', {}],
    ['empty', { COUNT: '' }],
    ['blank', { COUNT: '   ' }],
  ])('returns the fallback when the variable is %s', (_case, env) => {
    expect(integer(env, 'COUNT', 15, 10, 20)).toBe(15);
  });

  it.each([
    ['12', 12],
    [' 12 ', 12],
    ['10', 10],
    ['20', 20],
    ['0012', 12],
  ])('reads %j as %d', (raw, expected) => {
    expect(integer({ COUNT: raw }, 'COUNT', 15, 10, 20)).toBe(expected);
  });

  it.each(['-11', '12.5', '1e1', '0x11', 'twelve', '12abc', '+12', '1_2'])(
    'refuses %j as not a whole number, without echoing it',
    (raw) => {
      const error = configErrorOf(() => integer({ COUNT: raw }, 'COUNT', 15, 10, 20));
      expect(error.message).toBe('COUNT must be a whole number');
      expect(error.message).not.toContain(raw);
    },
  );

  it.each(['9', '21', '99999999999999999999999'])(
    'refuses %j as out of range, naming the bounds but not the value',
    (raw) => {
      const error = configErrorOf(() => integer({ COUNT: raw }, 'COUNT', 15, 10, 20));
      expect(error.message).toBe('COUNT must be between 10 and 20');
      expect(error.message).not.toContain(raw);
    },
  );
});

describe(oneOf.name, () => {
  const choices = ['alpha', 'beta'] as const;

  it('returns the fallback when unset or blank', () => {
    expect(oneOf({}, 'MODE', choices, 'beta')).toBe('beta');
    expect(oneOf({ MODE: '  ' }, 'MODE', choices, 'alpha')).toBe('alpha');
  });

  it.each([
    ['alpha', 'alpha'],
    ['BETA', 'beta'],
    [' Alpha ', 'alpha'],
  ])('reads %j as %j', (raw, expected) => {
    expect(oneOf({ MODE: raw }, 'MODE', choices, 'beta')).toBe(expected);
  });

  it.each(['gamma', 'alphabet', 'alpha,beta'])(
    'refuses %j, listing the choices but not the value',
    (raw) => {
      const error = configErrorOf(() => oneOf({ MODE: raw }, 'MODE', choices, 'beta'));
      expect(error.message).toBe('MODE must be one of: alpha, beta');
      expect(error.message).not.toContain(raw);
    },
  );
});

describe(boolean.name, () => {
  it.each([
    [{}, true, true],
    [{}, false, false],
    [{ FLAG: '' }, true, true],
    [{ FLAG: 'true' }, false, true],
    [{ FLAG: 'TRUE' }, false, true],
    [{ FLAG: 'false' }, true, false],
    [{ FLAG: ' False ' }, true, false],
  ])('reads %j with fallback %s as %s', (env: Env, fallback, expected) => {
    expect(boolean(env, 'FLAG', fallback)).toBe(expected);
  });

  it.each(['yes', '1', 'enabled', 'truthy'])('refuses %j without echoing it', (raw) => {
    const error = configErrorOf(() => boolean({ FLAG: raw }, 'FLAG', false));
    expect(error.message).toBe('FLAG must be one of: true, false');
    expect(error.message).not.toContain(raw);
  });
});

describe(matching.name, () => {
  const pattern = /^[a-z]{3}$/;
  const rule = 'must be three lower-case letters';

  it('returns undefined when unset or blank', () => {
    expect(matching({}, 'CODE', pattern, rule)).toBeUndefined();
    expect(matching({ CODE: ' ' }, 'CODE', pattern, rule)).toBeUndefined();
  });

  it('returns the trimmed value when it matches', () => {
    expect(matching({ CODE: ' abc ' }, 'CODE', pattern, rule)).toBe('abc');
  });

  it.each(['abcd', 'ABC', 'a c', 'hunter2'])(
    'refuses %j with the variable and the rule, not the value',
    (raw) => {
      const error = configErrorOf(() => matching({ CODE: raw }, 'CODE', pattern, rule));
      expect(error.message).toBe('CODE must be three lower-case letters');
      expect(error.message).not.toContain(raw);
    },
  );
});
