import { DEFAULT_OPTIONS, resolveOptions } from './analytics.options';

describe(resolveOptions.name, () => {
  it('fills in the documented defaults', () => {
    expect(resolveOptions({ accessToken: 't' })).toEqual({ ...DEFAULT_OPTIONS, accessToken: 't' });
    expect(DEFAULT_OPTIONS).toMatchObject({
      url: 'http://localhost:20080',
      defer: true,
      timeoutMs: 10_000,
      maxQueue: 10_000,
      dropPolicy: 'oldest',
      maxBatchEvents: 500,
      maxBatchBytes: 524_288,
      flushIntervalMs: 1000,
      shutdownTimeoutMs: 5000,
      flushOnExit: false,
      disabled: false,
    });
  });

  it('treats an option given as undefined as not given', () => {
    expect(resolveOptions({ accessToken: 't', url: undefined, maxQueue: undefined })).toMatchObject(
      {
        url: 'http://localhost:20080',
        maxQueue: 10_000,
      },
    );
  });

  it('needs an access token unless disabled', () => {
    expect(() => resolveOptions({})).toThrow(
      'Analytics.init: accessToken is required (or set disabled: true)',
    );
    expect(() => resolveOptions({ accessToken: '  ' })).toThrow(/accessToken is required/);
    expect(resolveOptions({ disabled: true }).disabled).toBe(true);
  });

  it.each([
    [{ url: 'localhost:20080' }, 'url must be an absolute http:// or https:// URL'],
    [{ url: 'ftp://stats' }, 'url must be an absolute http:// or https:// URL'],
    [{ maxQueue: 0 }, 'maxQueue must be an integer from 1 to 9007199254740991'],
    [{ maxBatchEvents: 1.5 }, 'maxBatchEvents must be an integer from 1'],
    [{ timeoutMs: 2 ** 31 }, 'timeoutMs must be an integer from 1 to 2147483647'],
    [{ retryBaseMs: 0 }, 'retryBaseMs must be an integer from 1'],
    [{ flushIntervalMs: -1 }, 'flushIntervalMs must be an integer from 0'],
    [{ shutdownTimeoutMs: Number.NaN }, 'shutdownTimeoutMs must be an integer from 0'],
    [{ dropPolicy: 'random' }, "dropPolicy must be 'oldest' or 'newest'"],
    [{ tags: ['a'] }, 'tags must be an object'],
    [{ onError: 'log' }, 'onError must be a function'],
  ])('refuses %j, naming the option and the rule', (bad, message) => {
    expect(() => resolveOptions({ accessToken: 't', ...(bad as object) })).toThrow(message);
  });

  it('never echoes the access token in its errors', () => {
    const secret = 'tok_very_secret';
    let message = '';
    try {
      resolveOptions({ accessToken: secret, url: secret });
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toMatch(/url must be/);
    expect(message).not.toContain(secret);
  });
});
