/**
 * The variables the service reads, as its config parsers look them up, are exactly the ones the
 * README's Configuration table and config/stats-service.env.example list: none missing from the
 * documentation, none documented that the service ignores. (The k8s and compose tests check
 * deployments against the example file.)
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { serviceVariables, variablesRead } from './support/deploy';
import { REPO } from './support/service';

/** The backquoted names in the first column of the README's Configuration table. */
function readmeVariables(): Set<string> {
  const readme = readFileSync(join(REPO, 'README.md'), 'utf8');
  const section = readme.slice(
    readme.indexOf('\n## Configuration\n'),
    readme.indexOf('\n## ', readme.indexOf('\n## Configuration\n') + 1),
  );
  const firstCells = section
    .split('\n')
    .filter((line) => line.startsWith('| `'))
    .map((line) => line.split('|')[1]!);
  return new Set(
    firstCells.flatMap((cell) => [...cell.matchAll(/`([A-Z][A-Z0-9_]*)`/g)].map((m) => m[1]!)),
  );
}

const sorted = (names: Set<string>) => [...names].sort();

describe('configuration documentation', () => {
  const read = variablesRead();

  it('the config parsers read the variables a deployment sets', () => {
    // One variable of each parser: the recording sees them all.
    expect(
      ['PORT', 'INFLUX_URL', 'EVENT_TAGS', 'SPOOL_DIR', 'METRICS_ENABLED', 'ACCESS_JSON'].filter(
        (name) => !read.has(name),
      ),
    ).toEqual([]);
  });

  it('the README Configuration table lists every variable the service reads, and only those', () => {
    expect(sorted(readmeVariables())).toEqual(sorted(read));
  });

  it('config/stats-service.env.example lists every variable the service reads, and only those', () => {
    expect(sorted(serviceVariables())).toEqual(sorted(read));
  });
});
