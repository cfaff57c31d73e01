import { logFormat } from './log-format';

describe(logFormat.name, () => {
  it.each([
    [undefined, true, 'pretty'],
    ['development', true, 'pretty'],
    ['test', true, 'pretty'],
    [undefined, false, 'json'],
    ['development', false, 'json'],
    ['production', true, 'json'],
    [' production ', true, 'json'],
    ['production', false, 'json'],
  ] as const)('NODE_ENV %p, stdout a terminal: %p → %p', (nodeEnv, isTty, expected) => {
    expect(logFormat(nodeEnv, isTty)).toBe(expected);
  });
});
