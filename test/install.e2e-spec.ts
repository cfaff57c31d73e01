/**
 * What `npm ci` runs: package-lock.json is what it installs, and no package in it may carry an
 * install script (`hasInstallScript`), in particular not @scarf/scarf's telemetry, which
 * swagger-ui-dist depends on; package.json's overrides replace it with vendor/scarf-stub.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO } from './support/service';

interface LockEntry {
  name?: string;
  resolved?: string;
  link?: boolean;
  hasInstallScript?: boolean;
}

const lock = JSON.parse(readFileSync(join(REPO, 'package-lock.json'), 'utf8')) as {
  packages: Record<string, LockEntry>;
};

describe('npm ci', () => {
  it('installs no package with an install script', () => {
    const withScripts = Object.entries(lock.packages)
      .filter(([, entry]) => entry.hasInstallScript === true)
      .map(([path]) => path);
    expect(withScripts).toEqual([]);
  });

  it('installs every @scarf/scarf as a link to the stub in vendor/', () => {
    const scarf = Object.entries(lock.packages).filter(([path]) =>
      path.endsWith('node_modules/@scarf/scarf'),
    );
    expect(scarf.map(([, entry]) => entry)).toEqual([
      { resolved: 'vendor/scarf-stub', link: true },
    ]);
  });

  it('the stub is a package without scripts and without code', () => {
    const stub = JSON.parse(
      readFileSync(join(REPO, 'vendor', 'scarf-stub', 'package.json'), 'utf8'),
    ) as Record<string, unknown>;
    expect(stub.name).toBe('@scarf/scarf');
    expect(stub).not.toHaveProperty('scripts');
    expect(stub).not.toHaveProperty('main');
  });
});
