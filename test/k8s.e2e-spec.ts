/**
 * config/k8s/: every manifest parses, `kubectl apply -f config/k8s/` would apply no placeholder
 * and no Secret (the example Secret lives apart, config/k8s-secret.example.yaml, with the
 * commands that make the real ones), and the StatefulSet agrees with the service it runs: the
 * probes hit /ping (liveness: on HEALTH_PORT) and /ready on the service's ports, the grace period outlasts the shutdown,
 * each replica's own spool volume is mounted at SPOOL_DIR and kept when the set scales in, the
 * Secret at ACCESS_JSON (as the Dockerfile and the ConfigMap set them, read with the service's
 * own config parsers), and the pod runs as the image's non-root user on a read-only root file
 * system; the Services, the PodDisruptionBudget and the HorizontalPodAutoscaler select and
 * target it; Prometheus finds it (pod annotations, or the ServiceMonitor of
 * prometheus-operator/). The InfluxDB example (influxdb/) is what the ConfigMap's INFLUX_URL and
 * INFLUX_DATABASE name. No cluster needed.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, parseAllDocuments } from 'yaml';
import { loadAccessFile } from '../src/auth/access-file';
import { parseAuthConfig } from '../src/auth/auth.config';
import { parseHttpConfig } from '../src/http/http.config';
import { parseInfluxConfig } from '../src/influx/influx.config';
import { parseSpoolConfig } from '../src/spool/spool.config';
import { dockerfileEnv, serviceVariables, startupErrors } from './support/deploy';
import { DEMO_SECRET, REPO } from './support/service';

const K8S = join(REPO, 'config', 'k8s');
/** Applied on their own (`kubectl apply -f config/k8s/<folder>/`), not with the folder. */
const EXAMPLES = ['influxdb/statefulset.yaml', 'prometheus-operator/servicemonitor.yaml'];
const SECRET_EXAMPLE = join(REPO, 'config', 'k8s-secret.example.yaml');
const APP_LABEL = { 'app.kubernetes.io/name': 'stats-service' };

/** Just enough of the Kubernetes types for these checks; a missing key fails the test. */
interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: { name: string; labels?: Record<string, string> };
  [key: string]: unknown;
}

interface Probe {
  httpGet: { path: string; port: number | string };
  timeoutSeconds?: number;
}

interface Container {
  image: string;
  ports: { name?: string; containerPort: number }[];
  envFrom: { configMapRef?: { name: string } }[];
  env?: { name: string; valueFrom?: { secretKeyRef?: { optional?: boolean } } }[];
  startupProbe?: Probe;
  livenessProbe: Probe;
  readinessProbe: Probe;
  lifecycle?: { preStop?: { exec?: { command: string[] } } };
  resources: { requests: Record<string, string>; limits?: Record<string, string> };
  securityContext: Record<string, unknown>;
  volumeMounts: { name: string; mountPath: string; readOnly?: boolean; subPath?: string }[];
}

interface Volume {
  name: string;
  secret?: { secretName: string; items?: { key: string; path: string }[]; defaultMode?: number };
  emptyDir?: Record<string, unknown>;
}

interface PodSpec {
  terminationGracePeriodSeconds: number;
  securityContext: Record<string, unknown>;
  containers: Container[];
  volumes: Volume[];
}

/** The manifests `kubectl apply -f config/k8s/` applies: the folder's own files, not its subfolders. */
function manifestFiles(): string[] {
  return readdirSync(K8S, { withFileTypes: true })
    .filter((entry) => entry.isFile() && /\.ya?ml$/.test(entry.name))
    .map((entry) => entry.name)
    .sort();
}

/** `file` relative to config/k8s/ (`influxdb/statefulset.yaml`), or absolute. */
function load(file: string): Manifest[] {
  const path = file.startsWith('/') ? file : join(K8S, file);
  return parseAllDocuments(readFileSync(path, 'utf8')).map((document) => {
    if (document.errors.length > 0) throw new Error(`${file}: ${document.errors[0]!.message}`);
    return document.toJS() as Manifest;
  });
}

function only(file: string, kind: string): Manifest {
  const manifests = load(file).filter((manifest) => manifest.kind === kind);
  expect(manifests).toHaveLength(1);
  return manifests[0]!;
}

/** A Kubernetes quantity such as `2Gi` in bytes. */
function bytes(quantity: string): number {
  const units: Record<string, number> = {
    '': 1,
    Ki: 2 ** 10,
    Mi: 2 ** 20,
    Gi: 2 ** 30,
    Ti: 2 ** 40,
  };
  const match = /^(\d+)(Ki|Mi|Gi|Ti|)$/.exec(quantity);
  if (match === null) throw new Error(`unexpected quantity ${quantity}`);
  return Number(match[1]) * units[match[2]!]!;
}

describe('config/k8s', () => {
  const configMap = only('configmap.yaml', 'ConfigMap');
  const data = configMap.data as Record<string, string>;
  /** What the container sees: the image's ENV, overridden by the ConfigMap (envFrom). */
  const env = { ...dockerfileEnv(), ...data };
  const statefulSet = only('statefulset.yaml', 'StatefulSet');
  const spec = statefulSet.spec as {
    replicas?: number;
    serviceName: string;
    podManagementPolicy: string;
    persistentVolumeClaimRetentionPolicy: { whenScaled: string; whenDeleted: string };
    selector: { matchLabels: Record<string, string> };
    template: { metadata: { labels: Record<string, string> }; spec: PodSpec };
    volumeClaimTemplates: {
      metadata: { name: string };
      spec: { accessModes: string[]; resources: { requests: { storage: string } } };
    }[];
  };
  const services = load('service.yaml').filter((manifest) => manifest.kind === 'Service');
  const serviceSpec = (name: string) =>
    services.find((service) => service.metadata.name === name)?.spec as
      | { clusterIP?: string; type?: string; selector: Record<string, string>; ports: unknown[] }
      | undefined;
  const pod = spec.template.spec;
  const container = pod.containers[0]!;
  const volume = (name: string) => pod.volumes.find((v) => v.name === name);
  const mountOf = (predicate: (v: Volume) => boolean) => {
    const names = pod.volumes.filter(predicate).map((v) => v.name);
    expect(names).toHaveLength(1);
    return container.volumeMounts.find((mount) => mount.name === names[0])!;
  };

  it('has the expected files, each of parseable YAML with a kind and a name', () => {
    expect(manifestFiles()).toEqual([
      'configmap.yaml',
      'hpa.yaml',
      'pdb.yaml',
      'service.yaml',
      'statefulset.yaml',
    ]);
    for (const file of [...manifestFiles(), ...EXAMPLES]) {
      for (const manifest of load(file)) {
        expect(manifest).toEqual(
          expect.objectContaining({
            apiVersion: expect.any(String) as string,
            kind: expect.any(String) as string,
            metadata: expect.objectContaining({ name: expect.any(String) as string }) as object,
          }),
        );
      }
    }
  });

  it('the ConfigMap passes the checks the service makes at start-up', () => {
    expect(startupErrors(env)).toEqual([]);
    expect(Object.values(data).every((value) => typeof value === 'string')).toBe(true);
    const known = serviceVariables();
    expect(Object.keys(data).filter((name) => !known.has(name))).toEqual([]);
  });

  it('is a StatefulSet whose replica count the HorizontalPodAutoscaler owns', () => {
    // A replicas field would be reset by every `kubectl apply`, fighting the autoscaler.
    expect(spec.replicas).toBeUndefined();
    expect(spec.podManagementPolicy).toBe('Parallel');
    expect(spec.selector.matchLabels).toEqual(APP_LABEL);
    expect(spec.template.metadata.labels).toMatchObject(APP_LABEL);
    expect(container.envFrom).toContainEqual({ configMapRef: { name: configMap.metadata.name } });
  });

  it('has a headless governing Service, and a ClusterIP Service for callers', () => {
    const headless = serviceSpec(spec.serviceName);
    expect(headless).toMatchObject({ clusterIP: 'None', selector: APP_LABEL });
    const callers = serviceSpec('stats-service');
    expect(spec.serviceName).not.toBe('stats-service');
    expect(callers).toMatchObject({
      type: 'ClusterIP',
      selector: APP_LABEL,
      ports: [{ port: 20080, targetPort: 'http' }],
    });
    expect(container.ports).toContainEqual({ name: 'http', containerPort: 20080 });
  });

  it('scales on CPU between sensible bounds, against the CPU the pod requests', () => {
    const hpa = only('hpa.yaml', 'HorizontalPodAutoscaler');
    const hpaSpec = hpa.spec as {
      scaleTargetRef: { apiVersion: string; kind: string; name: string };
      minReplicas: number;
      maxReplicas: number;
      metrics: {
        type: string;
        resource: { name: string; target: { type: string; averageUtilization: number } };
      }[];
      behavior: { scaleDown: { stabilizationWindowSeconds: number } };
    };
    expect(hpa.apiVersion).toBe('autoscaling/v2');
    expect(hpaSpec.scaleTargetRef).toEqual({
      apiVersion: 'apps/v1',
      kind: 'StatefulSet',
      name: statefulSet.metadata.name,
    });
    // Two at least: one replica can stop (update, drain) while another answers.
    expect(hpaSpec.minReplicas).toBeGreaterThanOrEqual(2);
    // Equal when one InfluxDB node takes no more replicas (docs/OPERATIONS.md, "Sizing";
    // test/sizing.e2e-spec.ts derives the ceiling): the autoscaler then holds the floor.
    expect(hpaSpec.maxReplicas).toBeGreaterThanOrEqual(hpaSpec.minReplicas);
    expect(hpaSpec.metrics).toEqual([
      {
        type: 'Resource',
        resource: {
          name: 'cpu',
          target: { type: 'Utilization', averageUtilization: expect.any(Number) as number },
        },
      },
    ]);
    const utilization = hpaSpec.metrics[0]!.resource.target.averageUtilization;
    expect(utilization).toBeGreaterThan(0);
    expect(utilization).toBeLessThan(100);
    expect(container.resources.requests.cpu).toEqual(expect.any(String));
    expect(hpaSpec.behavior.scaleDown.stabilizationWindowSeconds).toBeGreaterThanOrEqual(300);
  });

  it('lets voluntary disruptions take one replica at a time', () => {
    const pdb = only('pdb.yaml', 'PodDisruptionBudget');
    expect(pdb.apiVersion).toBe('policy/v1');
    expect(pdb.spec).toEqual({ maxUnavailable: 1, selector: { matchLabels: APP_LABEL } });
  });

  it('probes liveness on /ping on HEALTH_PORT, readiness on /ready on PORT', () => {
    const { port, healthPort } = parseHttpConfig(env);
    const resolve = (probePort: number | string) =>
      typeof probePort === 'number'
        ? probePort
        : container.ports.find((p) => p.name === probePort)?.containerPort;
    expect(container.livenessProbe.httpGet.path).toBe('/ping');
    expect(container.startupProbe?.httpGet.path).toBe('/ping');
    expect(container.readinessProbe.httpGet.path).toBe('/ready');
    expect(healthPort).toEqual(expect.any(Number));
    expect(resolve(container.livenessProbe.httpGet.port)).toBe(healthPort);
    expect(resolve(container.readinessProbe.httpGet.port)).toBe(port);
    // /ready itself gives InfluxDB 2 s (READY_TIMEOUT_MS) before it answers 503.
    expect(container.readinessProbe.timeoutSeconds).toBeGreaterThan(2);
  });

  it('gives the shutdown more time than SHUTDOWN_TIMEOUT_MS after the preStop pause', () => {
    const { shutdownTimeoutMs } = parseHttpConfig(env);
    const preStop = container.lifecycle?.preStop?.exec?.command ?? [];
    const pauseMs = preStop[0] === 'sleep' ? Number(preStop[1]) * 1000 : 0;
    expect(pod.terminationGracePeriodSeconds * 1000).toBeGreaterThan(shutdownTimeoutMs + pauseMs);
  });

  it('gives each replica a spool claim of its own, big enough for SPOOL_MAX_BYTES, at SPOOL_DIR', () => {
    const { dir, maxBytes } = parseSpoolConfig(env);
    expect(spec.volumeClaimTemplates).toHaveLength(1);
    const claim = spec.volumeClaimTemplates[0]!;
    const mount = container.volumeMounts.find((m) => m.name === claim.metadata.name);
    // A pod volume of the same name would shadow the claim.
    expect(volume(claim.metadata.name)).toBeUndefined();
    expect(mount?.mountPath).toBe(dir);
    expect(mount?.readOnly).not.toBe(true);
    expect(dir).toBe(dockerfileEnv().SPOOL_DIR);
    expect(claim.spec.accessModes).toEqual(['ReadWriteOnce']);
    expect(bytes(claim.spec.resources.requests.storage)).toBeGreaterThan(maxBytes);
  });

  it("keeps a replica's spool volume when the set scales in or is deleted", () => {
    expect(spec.persistentVolumeClaimRetentionPolicy).toEqual({
      whenScaled: 'Retain',
      whenDeleted: 'Retain',
    });
  });

  it('mounts access.json from the Secret at ACCESS_JSON, read-only', () => {
    const { accessJsonPath } = parseAuthConfig(env);
    expect(accessJsonPath).toBe('/run/secrets/access.json');
    const secret = volume('access')?.secret;
    expect(secret?.secretName).toBe('stats-service-access');
    const mount = mountOf((v) => v.secret?.secretName === secret?.secretName);
    expect(mount.readOnly).toBe(true);
    const item = secret?.items?.find((i) => i.key === 'access.json');
    const path = mount.subPath === undefined ? join(mount.mountPath, item!.path) : mount.mountPath;
    expect(path).toBe(accessJsonPath);
    // Readable by the fsGroup (the `node` user), by no one else.
    expect(secret?.defaultMode).toBe(0o440);
  });

  it('runs as the non-root node user with a read-only root; only the spool and /tmp are writable', () => {
    expect(pod.securityContext).toMatchObject({
      runAsNonRoot: true,
      runAsUser: 1000,
      fsGroup: 1000,
    });
    expect(container.securityContext).toMatchObject({
      readOnlyRootFilesystem: true,
      allowPrivilegeEscalation: false,
    });
    const writable = container.volumeMounts.filter((mount) => mount.readOnly !== true);
    expect(writable.map((mount) => mount.mountPath).sort()).toEqual(
      [parseSpoolConfig(env).dir, '/tmp'].sort(),
    );
    expect(volume(writable.find((m) => m.mountPath === '/tmp')!.name)?.emptyDir).toBeDefined();
    expect(container.resources.requests).toEqual(
      expect.objectContaining({
        cpu: expect.any(String) as string,
        memory: expect.any(String) as string,
      }),
    );
  });

  it('takes InfluxDB credentials from an optional Secret, never from the ConfigMap', () => {
    for (const name of ['INFLUX_TOKEN', 'INFLUX_USERNAME', 'INFLUX_PASSWORD']) {
      expect(data).not.toHaveProperty(name);
      const fromSecret = container.env?.find((variable) => variable.name === name);
      expect(fromSecret?.valueFrom?.secretKeyRef?.optional).toBe(true);
    }
    const known = serviceVariables();
    expect((container.env ?? []).filter((variable) => !known.has(variable.name))).toEqual([]);
  });

  it('applies no placeholder and no Secret: `kubectl apply -f config/k8s/` is safe as it is', () => {
    for (const file of manifestFiles()) {
      for (const manifest of load(file)) {
        // What would reach the cluster (comments do not): no value left to fill in.
        const values = JSON.stringify(manifest);
        expect({ file, placeholder: /REPLACE|CHANGE_?ME|<[a-z-]+>/i.test(values) }).toEqual({
          file,
          placeholder: false,
        });
        expect({ file, kind: manifest.kind }).not.toEqual({ file, kind: 'Secret' });
        expect(manifest.metadata.labels).toMatchObject(APP_LABEL);
      }
    }
  });

  it('lets Prometheus find every replica: pod annotations, and a ServiceMonitor on the headless Service', () => {
    const annotations = (spec.template.metadata as { annotations?: Record<string, string> })
      .annotations;
    const { port } = parseHttpConfig(env);
    expect(annotations).toEqual({
      'prometheus.io/scrape': 'true',
      'prometheus.io/port': String(port),
      'prometheus.io/path': '/metrics',
    });
    const monitor = only('prometheus-operator/servicemonitor.yaml', 'ServiceMonitor');
    expect(monitor.apiVersion).toBe('monitoring.coreos.com/v1');
    const monitorSpec = monitor.spec as {
      selector: { matchLabels: Record<string, string> };
      endpoints: { port: string; path: string }[];
    };
    // Exactly one Service matches: two would scrape every replica twice.
    const selected = services.filter((service) =>
      Object.entries(monitorSpec.selector.matchLabels).every(
        ([key, value]) => service.metadata.labels?.[key] === value,
      ),
    );
    expect(selected.map((service) => service.metadata.name)).toEqual([spec.serviceName]);
    const headless = serviceSpec(spec.serviceName) as unknown as {
      ports: { name: string; targetPort: string }[];
      publishNotReadyAddresses?: boolean;
    };
    expect(headless.publishNotReadyAddresses).toBe(true);
    expect(monitorSpec.endpoints).toEqual([
      expect.objectContaining({ port: headless.ports[0]!.name, path: '/metrics' }),
    ]);
    expect(headless.ports[0]!.targetPort).toBe('http');
  });

  describe('the InfluxDB example (influxdb/)', () => {
    const influx = only('influxdb/statefulset.yaml', 'StatefulSet');
    const influxService = only('influxdb/statefulset.yaml', 'Service');
    const influxSpec = influx.spec as {
      replicas: number;
      serviceName: string;
      selector: { matchLabels: Record<string, string> };
      template: { metadata: { labels: Record<string, string> }; spec: PodSpec };
      volumeClaimTemplates: { metadata: { name: string } }[];
    };
    const influxContainer = influxSpec.template.spec.containers[0]!;

    it('is the InfluxDB the ConfigMap names: its Service, port and database', () => {
      const { url, database } = parseInfluxConfig(env);
      const target = new URL(url);
      expect(target.hostname).toBe(influxService.metadata.name);
      const ports = (influxService.spec as { ports: { port: number; targetPort: string }[] }).ports;
      expect(ports.map((p) => p.port)).toContain(Number(target.port));
      const dbEnv = (influxContainer.env ?? []) as unknown as { name: string; value?: string }[];
      expect(dbEnv.find((variable) => variable.name === 'INFLUXDB_DB')?.value).toBe(database);
      expect(influxSpec.serviceName).toBe(influxService.metadata.name);
      expect((influxService.spec as { selector: Record<string, string> }).selector).toEqual(
        influxSpec.selector.matchLabels,
      );
      expect(influxSpec.template.metadata.labels).toMatchObject(influxSpec.selector.matchLabels);
    });

    it('runs one replica of the InfluxDB 1.x that compose runs, its data on a claim of its own', () => {
      expect(influxSpec.replicas).toBe(1);
      const compose = parse(readFileSync(join(REPO, 'config', 'compose.yaml'), 'utf8')) as {
        services: { influxdb: { image: string } };
      };
      expect(influxContainer.image).toBe(compose.services.influxdb.image);
      expect(influxContainer.image).toMatch(/^influxdb:1\./);
      expect(influxSpec.volumeClaimTemplates.map((claim) => claim.metadata.name)).toEqual(['data']);
      expect(influxContainer.volumeMounts).toEqual([
        expect.objectContaining({ name: 'data', mountPath: '/var/lib/influxdb' }),
      ]);
      expect(influxContainer.readinessProbe.httpGet.path).toBe('/ping');
      expect(influxContainer.livenessProbe.httpGet.path).toBe('/ping');
    });
  });

  describe('the example Secret (config/k8s-secret.example.yaml, outside config/k8s/)', () => {
    const secrets = load(SECRET_EXAMPLE);
    const access = secrets.find((manifest) => manifest.metadata.name === 'stats-service-access');
    const accessJson = (access?.stringData as Record<string, string> | undefined)?.['access.json'];
    let dir: string;

    beforeAll(() => {
      dir = mkdtempSync(join(tmpdir(), 'stats-k8s-'));
    });

    afterAll(() => {
      rmSync(dir, { recursive: true, force: true });
    });

    it('holds access.json as stringData, with placeholders only', () => {
      expect(accessJson).toContain('REPLACE_ME');
      expect(readFileSync(SECRET_EXAMPLE, 'utf8')).not.toContain(DEMO_SECRET.slice(0, 16));
    });

    it('says how to make the real Secret the StatefulSet mounts', () => {
      const secretName = volume('access')?.secret?.secretName;
      expect(readFileSync(SECRET_EXAMPLE, 'utf8')).toContain(
        `kubectl create secret generic ${secretName} --from-file=access.json=secrets/access.json`,
      );
      expect(access?.metadata.name).toBe(secretName);
    });

    it('is refused by the service as it is, naming the problem', () => {
      const file = join(dir, 'access.json');
      writeFileSync(file, accessJson!);
      expect(() => loadAccessFile(file)).toThrow(/access_token is not a token/);
    });
  });
});
