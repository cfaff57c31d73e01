import { cyrb53 } from './cyrb53';

describe(cyrb53.name, () => {
  // The values published with the algorithm (github.com/bryc/code, jshash/experimental).
  it.each([
    ['a', 7929297801672961],
    ['b', 8684336938537663],
    ['revenge', 4051478007546757],
    ['revenue', 8309097637345594],
  ])('hashes %j to %d', (text, hash) => {
    expect(cyrb53(text)).toBe(hash);
  });
});
