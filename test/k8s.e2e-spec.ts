/**
 * config/k8s/: every manifest parses, and the StatefulSet agrees with the service it runs: the
 * probes hit /ping (liveness: on HEALTH_PORT) and /ready on the service's ports, the grace period outlasts the shutdown,
 * each replica's own spool volume is mounted at SPOOL_DIR and kept when the set scales in, the
 * Secret at ACCESS_JSON (as the Dockerfile and the ConfigMap set them, read with the service's
 * own config parsers), and the pod runs as the image's non-root user on a read-only root file
 * system; the Services, the PodDisruptionBudget and the HorizontalPodAutoscaler select and
 * target it. No cluster needed.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { loadAccessFile } from '../src/auth/access-file';
import { parseAuthConfig } from '../src/auth/auth.config';
import { parseHttpConfig } from '../src/http/http.config';
import { parseSpoolConfig } from '../src/spool/spool.config';
import { dockerfileEnv, serviceVariables, startupErrors } from './support/deploy';
import { DEMO_SECRET, REPO } from './support/service';

const K8S = join(REPO, 'config', 'k8s');
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

function manifestFiles(): string[] {
  return readdirSync(K8S)
    .filter((file) => /\.ya?ml$/.test(file))
    .sort();
}

function load(file: string): Manifest[] {
  return parseAllDocuments(readFileSync(join(K8S, file), 'utf8')).map((document) => {
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
      'secret.example.yaml',
      'service.yaml',
      'statefulset.yaml',
    ]);
    for (const file of manifestFiles()) {
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
    expect(hpaSpec.maxReplicas).toBeGreaterThan(hpaSpec.minReplicas);
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

  it('labels every real resource, so that `kubectl apply -l` picks them and skips the example', () => {
    for (const file of manifestFiles()) {
      for (const manifest of load(file)) {
        if (file === 'secret.example.yaml') expect(manifest.metadata.labels).toBeUndefined();
        else expect(manifest.metadata.labels).toMatchObject(APP_LABEL);
      }
    }
  });

  describe('the example Secret', () => {
    const secrets = load('secret.example.yaml');
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
      expect(readFileSync(join(K8S, 'secret.example.yaml'), 'utf8')).not.toContain(
        DEMO_SECRET.slice(0, 16),
      );
    });

    it('is refused by the service as it is, naming the problem', () => {
      const file = join(dir, 'access.json');
      writeFileSync(file, accessJson!);
      expect(() => loadAccessFile(file)).toThrow(/access_token is not a token/);
    });
  });
});
