/**
 * The variables the service reads, as its config parsers look them up, are exactly the ones the
 * README's Configuration table and config/stats-service.env.example list: none missing from the
 * documentation, none documented that the service ignores. The defaults they show are the
 * parsers' defaults, and so are the values of the Kubernetes ConfigMap but for the ones a
 * deployment chooses. (The k8s and compose tests check deployments against the example file.)
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { exampleValues, parsedConfig, serviceVariables, variablesRead } from './support/deploy';
import { REPO } from './support/service';

/** The rows of the README's Configuration table: its variable and default cells. */
function readmeRows(): Array<{ variables: string[]; defaults: string }> {
  const readme = readFileSync(join(REPO, 'README.md'), 'utf8');
  const section = readme.slice(
    readme.indexOf('\n## Configuration\n'),
    readme.indexOf('\n## ', readme.indexOf('\n## Configuration\n') + 1),
  );
  return section
    .split('\n')
    .filter((line) => line.startsWith('| `'))
    .map((line) => {
      const cells = line.split('|');
      return {
        variables: [...cells[1]!.matchAll(/`([A-Z][A-Z0-9_]*)`/g)].map((m) => m[1]!),
        defaults: cells[2]!,
      };
    });
}

/** The backquoted names in the first column of the README's Configuration table. */
function readmeVariables(): Set<string> {
  return new Set(readmeRows().flatMap((row) => row.variables));
}

/** What the service makes of an empty environment: every default. */
const DEFAULTS = parsedConfig({});

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

  it('every value config/stats-service.env.example shows is the default: setting it changes nothing', () => {
    const values = Object.entries(exampleValues()).filter(([, value]) => value !== '');
    expect(values.length).toBeGreaterThan(20);
    const differing = values.filter(
      ([name, value]) => parsedConfig({ [name]: value }) !== DEFAULTS,
    );
    expect(differing).toEqual([]);
  });

  it('the README shows the same defaults as the example, where it names one value a variable', () => {
    const example = exampleValues();
    const compared: string[] = [];
    const differing: string[] = [];
    for (const { variables, defaults } of readmeRows()) {
      // `20080` / `0.0.0.0` for PORT / HOST: one backquoted value per variable, in order.
      const shown = [...defaults.matchAll(/`([^`]*)`/g)].map((m) => m[1]!);
      if (shown.length !== variables.length) continue;
      variables.forEach((name, i) => {
        compared.push(name);
        if (example[name] !== shown[i])
          differing.push(`${name}: README ${shown[i]}, example ${example[name]}`);
      });
    }
    expect(compared.length).toBeGreaterThan(20);
    expect(differing).toEqual([]);
  });

  it('the Kubernetes ConfigMap sets the defaults, but for what a deployment chooses', () => {
    const configMap = parse(
      readFileSync(join(REPO, 'config', 'k8s', 'configmap.yaml'), 'utf8'),
    ) as {
      data: Record<string, string>;
    };
    // Chosen for the cluster: the liveness probe's own port, the InfluxDB Service of
    // config/k8s/influxdb/, and the mount path of the spool's volume (statefulset.yaml).
    const CHOSEN = ['HEALTH_PORT', 'INFLUX_URL', 'SPOOL_DIR'];
    const rest = Object.entries(configMap.data).filter(([name]) => !CHOSEN.includes(name));
    expect(rest.length).toBeGreaterThan(5);
    expect(rest.filter(([name, value]) => parsedConfig({ [name]: value }) !== DEFAULTS)).toEqual(
      [],
    );
  });
});
