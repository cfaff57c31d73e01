import { loggedUrl } from './request-logging';

describe(loggedUrl.name, () => {
  it('logs a path without a query string as it is', () => {
    expect(loggedUrl('/log/event')).toBe('/log/event');
  });

  it.each([
    ['/log/event?token=eyJzZWNyZXQ', '/log/event?[redacted]'],
    ['/log/event?eyJzZWNyZXQ', '/log/event?[redacted]'],
    ['/log/event?a=1&token=eyJzZWNyZXQ#x', '/log/event?[redacted]'],
    ['/log/event?', '/log/event?[redacted]'],
  ])('logs %j as %j: nothing of the query string', (url, logged) => {
    expect(loggedUrl(url)).toBe(logged);
    expect(loggedUrl(url)).not.toContain('eyJ');
  });

  it('cuts a long path at 256 characters', () => {
    expect(loggedUrl(`/log/event/${'x'.repeat(10_000)}`)).toBe(
      `/log/event/${'x'.repeat(256 - '/log/event/'.length)}…`,
    );
  });
});
