import { DEMO_SECRET, DEMO_TOKEN } from '../../test/support/service';
import { loggedUrl, requestIdOf } from './request-logging';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
/** The token's last 64 decoded bytes (its signature), as base64url: secret on its own. */
const SIGNATURE = Buffer.from(DEMO_TOKEN, 'base64url').subarray(-64).toString('base64url');

describe(loggedUrl.name, () => {
  it.each(['/log/event', '/log/event/entry_0123456789abcdef', '/ping', '/'])(
    'logs the plain path %j as it is',
    (path) => {
      expect(loggedUrl(path)).toBe(path);
    },
  );

  it.each([
    ['/log/event?token=eyJzZWNyZXQ', '/log/event?[redacted]'],
    ['/log/event?eyJzZWNyZXQ', '/log/event?[redacted]'],
    ['/log/event?a=1&token=eyJzZWNyZXQ#x', '/log/event?[redacted]'],
    ['/log/event?', '/log/event?[redacted]'],
  ])('logs %j as %j: nothing of the query string', (url, logged) => {
    expect(loggedUrl(url)).toBe(logged);
  });

  it.each([
    ['as it is', `/log/event/${DEMO_TOKEN}`],
    ['URL-encoded', `/log/event/${encodeURIComponent(DEMO_TOKEN)}`],
    ['after the scheme', `/log/event/Token%20${DEMO_TOKEN}`],
    ['as the whole path', `/${DEMO_TOKEN}`],
    ['without its padding', `/log/event/${DEMO_TOKEN.replace(/=+$/, '')}`],
    ['only its signature, padded', `/log/event/${SIGNATURE}==`],
    ['only its signature', `/log/event/${SIGNATURE}`],
  ])('never logs a token pasted into the path %s', (_how, url) => {
    const logged = loggedUrl(url);
    expect(logged).toContain('[redacted]');
    expect(logged).not.toContain(DEMO_TOKEN.slice(0, 20));
    expect(logged).not.toContain(SIGNATURE.slice(0, 20));
  });

  it('never logs the access secret pasted into the path, nor a prefix of it', () => {
    expect(loggedUrl(`/log/event/${DEMO_SECRET}`)).toBe('/log/event/[redacted]');
    expect(loggedUrl(`/log/event/${DEMO_SECRET.slice(0, 41)}`)).toBe('/log/event/[redacted]');
  });

  it('logs a plain segment of 40 characters, redacts one of 41, and cuts the path at 256', () => {
    expect(loggedUrl(`/log/event/${'x'.repeat(40)}`)).toBe(`/log/event/${'x'.repeat(40)}`);
    expect(loggedUrl(`/log/event/${'x'.repeat(41)}`)).toBe('/log/event/[redacted]');
    const long = `/${'a'.repeat(40)}`.repeat(8);
    expect(loggedUrl(long)).toBe(`${long.slice(0, 256)}…`);
  });
});

describe(requestIdOf.name, () => {
  it('keeps a plain caller id', () => {
    expect(requestIdOf('log-1234.a:b_c')).toBe('log-1234.a:b_c');
  });

  it('keeps a plain caller id of 40 characters', () => {
    expect(requestIdOf('r'.repeat(40))).toBe('r'.repeat(40));
  });

  it.each([
    ['missing', undefined],
    ['empty', ''],
    ['with a space', 'not a valid id!'],
    ['a token', DEMO_TOKEN],
    ['a token without padding', DEMO_TOKEN.replace(/=+$/, '')],
    ['41 characters long', 'r'.repeat(41)],
    ['the access secret', DEMO_SECRET],
    ["the token's signature", SIGNATURE],
    ['repeated', ['a', 'b']],
  ])('makes a new UUID when the caller id is %s', (_what, given) => {
    const id = requestIdOf(given);
    expect(id).toMatch(UUID);
    expect(requestIdOf(given)).not.toBe(id);
  });
});
