/**
 * config/compose.yaml, without a Docker engine (none runs where we build): it parses, every file
 * it mounts or builds from exists, every variable it sets for the service is one the service
 * reads and passes the service's own start-up checks, and the ports, URLs and paths of the
 * services agree with each other and with the service's defaults.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { parse } from 'yaml';
import { parseAuthConfig } from '../src/auth/auth.config';
import { parseHttpConfig } from '../src/http/http.config';
import { parseInfluxConfig } from '../src/influx/influx.config';
import { parseMetricsConfig } from '../src/metrics/metrics.config';
import { parseSpoolConfig } from '../src/spool/spool.config';
import { dockerfileEnv, serviceVariables, startupErrors } from './support/deploy';
import { REPO } from './support/service';

const COMPOSE = join(REPO, 'config', 'compose.yaml');
/** Compose resolves relative paths against the folder of the file. */
const BASE = dirname(COMPOSE);

interface ComposeService {
  image?: string;
  build?: { context: string; dockerfile: string };
  ports?: string[];
  environment?: Record<string, string>;
  secrets?: { source: string; target: string }[];
  volumes?: string[];
  depends_on?: string[];
}

interface Compose {
  services: Record<string, ComposeService>;
  secrets: Record<string, { file: string }>;
  volumes: Record<string, unknown>;
}

const compose = parse(readFileSync(COMPOSE, 'utf8')) as Compose;
const service = compose.services['stats-service']!;
/** What the container sees: the image's ENV, overridden by compose's environment. */
const env = { ...dockerfileEnv(), ...service.environment };

/** `source:target[:mode]` of a volume entry. */
function mount(entry: string): { source: string; target: string; readOnly: boolean } {
  const [source, target, mode] = entry.split(':');
  return { source: source!, target: target!, readOnly: mode === 'ro' };
}

/** host port → container port of a service's `ports` (`[ip:]host:container`). */
function published(svc: ComposeService): Map<number, number> {
  return new Map(
    (svc.ports ?? []).map((entry) => {
      const [host, container] = entry.split(':').slice(-2).map(Number);
      return [host!, container!];
    }),
  );
}

/** The host address a `ports` entry binds: all of them without an `ip:` part. */
function boundAddress(entry: string): string {
  const parts = entry.split(':');
  return parts.length === 3 ? parts[0]! : '0.0.0.0';
}

function urlOf(value: string | undefined): URL {
  return new URL(value ?? 'missing:');
}

describe('config/compose.yaml', () => {
  it('runs the service built from the Dockerfile, InfluxDB 1.8 and Grafana', () => {
    expect(Object.keys(compose.services).sort()).toEqual(
      ['grafana', 'influxdb', 'prometheus', 'stats-service'].sort(),
    );
    expect(existsSync(join(resolve(BASE, service.build!.context), service.build!.dockerfile))).toBe(
      true,
    );
    expect(resolve(BASE, service.build!.context)).toBe(REPO);
    expect(compose.services.influxdb!.image).toMatch(/^influxdb:1\.8(\.|$)/);
    expect(compose.services.grafana!.image).toMatch(/^grafana\/grafana:/);
  });

  it('mounts only files and folders that exist', () => {
    const binds = Object.values(compose.services)
      .flatMap((svc) => svc.volumes ?? [])
      .map(mount)
      .filter(({ source }) => source.startsWith('.') || source.startsWith('/'))
      .map(({ source }) => source);
    const secretFiles = Object.values(compose.secrets).map((secret) => secret.file);
    expect(binds.length).toBeGreaterThanOrEqual(4);
    expect([...binds, ...secretFiles].filter((path) => !existsSync(resolve(BASE, path)))).toEqual(
      [],
    );
  });

  it('sets only variables the service reads, and they pass its start-up checks', () => {
    const known = serviceVariables();
    expect(Object.keys(service.environment ?? {}).filter((name) => !known.has(name))).toEqual([]);
    expect(Object.values(service.environment ?? {}).every((v) => typeof v === 'string')).toBe(true);
    expect(startupErrors(env)).toEqual([]);
  });

  it("publishes the service's own port", () => {
    const { port } = parseHttpConfig(env);
    expect(port).toBe(20080);
    expect(published(service)).toEqual(new Map([[port, port]]));
    // It accepts the public demo token (NODE_ENV=development): this machine only.
    expect(env.NODE_ENV).toBe('development');
    expect((service.ports ?? []).map(boundAddress)).toEqual(['127.0.0.1']);
  });

  it('points the service at the InfluxDB of the stack, on the port it publishes, and its database', () => {
    const influx = parseInfluxConfig(env);
    const url = urlOf(influx.url);
    const influxdb = compose.services.influxdb!;
    expect(url.hostname).toBe('influxdb');
    expect(published(influxdb).get(8086)).toBe(Number(url.port));
    expect(influx.api).toBe('v1');
    expect(influxdb.environment?.INFLUXDB_DB).toBe(influx.database);
  });

  it('mounts access.json as a secret at ACCESS_JSON, and the spool on a named volume at SPOOL_DIR', () => {
    const { accessJsonPath } = parseAuthConfig(env);
    const secret = service.secrets?.find((s) => s.source === 'access.json');
    expect(`/run/secrets/${secret?.target}`).toBe(accessJsonPath);
    expect(resolve(BASE, compose.secrets['access.json']!.file)).toBe(join(REPO, 'access.json'));
    const { dir } = parseSpoolConfig(env);
    const spool = (service.volumes ?? []).map(mount).find(({ target }) => target === dir);
    expect(spool).toEqual({ source: expect.any(String) as string, target: dir, readOnly: false });
    expect(Object.keys(compose.volumes)).toContain(spool!.source);
  });

  describe('Grafana', () => {
    const grafana = compose.services.grafana!;
    const mounts = (grafana.volumes ?? []).map(mount);
    const datasources = readFileSync(
      join(REPO, 'config', 'grafana', 'provisioning', 'datasources', 'datasources.yaml'),
      'utf8',
    );
    const provider = parse(
      readFileSync(
        join(REPO, 'config', 'grafana', 'provisioning', 'dashboards', 'dashboards.yaml'),
        'utf8',
      ),
    ) as { providers: { options: { path: string } }[] };

    it('is provisioned from config/grafana, the dashboards where the provider reads them', () => {
      const at = (target: string) => mounts.find((m) => m.target === target);
      expect(at('/etc/grafana/provisioning/datasources')?.source).toBe(
        './grafana/provisioning/datasources',
      );
      expect(at('/etc/grafana/provisioning/dashboards')?.source).toBe(
        './grafana/provisioning/dashboards',
      );
      expect(at(provider.providers[0]!.options.path)).toEqual({
        source: './grafana/dashboards',
        target: provider.providers[0]!.options.path,
        readOnly: true,
      });
    });

    it('gets every variable its data sources expand, pointing at the services of the stack', () => {
      const lines = datasources.split('\n').filter((line) => !line.trim().startsWith('#'));
      const expanded = new Set([...lines.join('\n').matchAll(/\$([A-Z_]+)/g)].map((m) => m[1]!));
      expect([...expanded].filter((name) => !(name in (grafana.environment ?? {})))).toEqual([]);
      expect(grafana.environment?.INFLUX_URL).toBe(service.environment?.INFLUX_URL);
      expect(grafana.environment?.INFLUX_DATABASE).toBe(env.INFLUX_DATABASE);
      const prometheus = urlOf(grafana.environment?.PROMETHEUS_URL);
      expect(prometheus.hostname).toBe('prometheus');
      expect(published(compose.services.prometheus!).get(Number(prometheus.port))).toBe(
        Number(prometheus.port),
      );
    });

    it("Prometheus scrapes the service's /metrics on its port", () => {
      const config = parse(
        readFileSync(join(REPO, 'config', 'prometheus', 'prometheus.yml'), 'utf8'),
      ) as {
        scrape_configs: { metrics_path: string; static_configs: { targets: string[] }[] }[];
      };
      const prometheusMounts = (compose.services.prometheus!.volumes ?? []).map(mount);
      expect(prometheusMounts).toContainEqual({
        source: './prometheus/prometheus.yml',
        target: '/etc/prometheus/prometheus.yml',
        readOnly: true,
      });
      expect(config.scrape_configs[0]).toMatchObject({
        metrics_path: '/metrics',
        static_configs: [{ targets: [`stats-service:${parseHttpConfig(env).port}`] }],
      });
      expect(parseMetricsConfig(env)).toMatchObject({ enabled: true });
    });
  });
});
