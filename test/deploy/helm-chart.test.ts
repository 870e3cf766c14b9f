import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

import { load } from 'js-yaml';

import { chart, type Container, findHelm, type HelmResult, type Manifest, parseManifests, root, runHelm, type Workload } from './helm.js';

// The chart tests: helm lint and helm template of helm/user-service with its
// defaults and with ci/production-values.yaml, and what the manifests say.

const lookup = findHelm();
const ci = process.env.CI === 'true';
const productionValues = join(chart, 'ci', 'production-values.yaml');

if ('problem' in lookup) {
  if (ci) {
    it('has helm (CI=true: the chart tests must run)', () => {
      throw new Error(`no helm: ${lookup.problem}`);
    });
  } else {
    const bar = '!'.repeat(78);
    console.warn(`\n${bar}\n!! No helm (${lookup.problem}): the Helm chart tests are SKIPPED on this machine\n${bar}\n`);
  }
}

const helm = 'helm' in lookup ? lookup.helm : '';
const template = (...args: string[]) => runHelm(helm, ['template', 'users', chart, ...args]);

// Secret values fed to the chart; none may appear in a render that uses an existing Secret.
const nonce = Date.now().toString(36);
const secretValues: Record<string, string> = {
  DATABASE_URL: `postgres://users:db-password-${nonce}@db.internal:5432/users`,
  REDIS_URL: `redis://:redis-password-${nonce}@cache.internal:6379`,
  RABBITMQ_URL: `amqp://users:mq-password-${nonce}@mq.internal:5672`,
  JWT_PRIVATE_KEY: `private-key-material-${nonce}`,
  JWT_PUBLIC_KEY: `public-key-material-${nonce}`,
  JWT_KEY_ID: `key-id-${nonce}`,
  ADMIN_EMAIL: `admin-${nonce}@example.com`,
  ADMIN_PASSWORD: `admin-password-${nonce}`,
};
const secretArgs = Object.entries(secretValues).flatMap(([key, value]) => ['--set-string', `secret.data.${key}=${value}`]);

function ok(result: HelmResult): Manifest[] {
  if (result.code !== 0) throw new Error(`helm exited ${result.code}: ${result.stderr}`);
  return parseManifests(result.stdout);
}

function one<T extends Manifest = Manifest>(manifests: Manifest[], kind: string): T {
  const found = manifests.filter((manifest) => manifest.kind === kind);
  if (found.length !== 1) throw new Error(`expected one ${kind}, found ${found.length} (${manifests.map((m) => m.kind).join(', ')})`);
  return found[0] as T;
}

const kinds = (manifests: Manifest[]) => manifests.map((manifest) => manifest.kind).sort();
const appContainer = (deployment: Workload): Container => deployment.spec.template.spec.containers[0]!;

(helm ? describe : describe.skip)('the Helm chart', () => {
  let lintDefaults: HelmResult;
  let lintProduction: HelmResult;
  let defaults: Manifest[];
  let production: Manifest[];
  let createdSecret: HelmResult;
  let existingSecret: HelmResult;
  let jobOff: Manifest[];
  let hpaOff: Manifest[];
  let consoleOn: Manifest[];

  beforeAll(async () => {
    const results = await Promise.all([
      runHelm(helm, ['lint', '--strict', chart]),
      runHelm(helm, ['lint', '--strict', chart, '-f', productionValues]),
      template(),
      template('-f', productionValues),
      template('--set', 'secret.create=true', ...secretArgs),
      template('--set', 'secret.existingSecret=user-service-credentials', ...secretArgs),
      template('--set', 'migrations.job.enabled=false'),
      template('--set', 'autoscaling.enabled=false'),
      template('--set', 'adminConsole.enabled=true'),
    ]);
    [lintDefaults, lintProduction] = results;
    [defaults, production] = [ok(results[2]!), ok(results[3]!)];
    [createdSecret, existingSecret] = [results[4]!, results[5]!];
    [jobOff, hpaOff, consoleOn] = [ok(results[6]!), ok(results[7]!), ok(results[8]!)];
  });

  it('lints clean with the default values and with the production-like values', () => {
    for (const result of [lintDefaults, lintProduction]) {
      expect({ code: result.code, stderr: result.stderr }).toEqual({ code: 0, stderr: '' });
      expect(result.stdout).toContain('1 chart(s) linted, 0 chart(s) failed');
      expect(result.stdout).not.toMatch(/\[(WARNING|ERROR)\]/);
    }
  });

  it('renders by default a Deployment, its Service, ConfigMap, ServiceAccount, HPA, PDB and the migration Job; no Secret, Ingress or ServiceMonitor', () => {
    expect(kinds(defaults)).toEqual(['ConfigMap', 'Deployment', 'HorizontalPodAutoscaler', 'Job', 'PodDisruptionBudget', 'Service', 'ServiceAccount']);
    expect(kinds(production)).toEqual([
      'ConfigMap',
      'Deployment',
      'HorizontalPodAutoscaler',
      'Ingress',
      'Job',
      'PodDisruptionBudget',
      'Service',
      'ServiceAccount',
      'ServiceMonitor',
    ]);
  });

  describe.each([
    ['default values', () => defaults],
    ['production-like values', () => production],
  ])('with the %s', (_name, manifests) => {
    it('probes the real health paths on the container port', () => {
      const deployment = one<Workload>(manifests(), 'Deployment');
      const container = appContainer(deployment);
      const port = one(manifests(), 'ConfigMap').data!.PORT;
      expect(port).toBe('3000');
      expect(container.ports).toEqual([{ name: 'http', containerPort: 3000, protocol: 'TCP' }]);
      const probed = (probe: Container['livenessProbe']) => probe?.httpGet && { path: probe.httpGet.path, port: probe.httpGet.port };
      expect(probed(container.startupProbe)).toEqual({ path: '/api/v1/health/live', port: 'http' });
      expect(probed(container.livenessProbe)).toEqual({ path: '/api/v1/health/live', port: 'http' });
      expect(probed(container.readinessProbe)).toEqual({ path: '/api/v1/health/ready', port: 'http' });
      const service = one(manifests(), 'Service');
      expect(service.spec!.ports).toEqual([expect.objectContaining({ targetPort: 'http' })]);
      expect(service.spec!.selector).toEqual(deployment.spec.selector!.matchLabels);
    });

    it('runs the migrations in a pre-install,pre-upgrade hook Job with the migrate CLI, and the pods with MIGRATIONS_ON_START=false', () => {
      const job = one<Workload>(manifests(), 'Job');
      const annotations = job.metadata.annotations!;
      expect(annotations['helm.sh/hook']!.split(',').sort()).toEqual(['pre-install', 'pre-upgrade']);
      expect(annotations['helm.sh/hook-weight']).toBe('0');
      expect(annotations['helm.sh/hook-delete-policy']!.split(',').sort()).toEqual(['before-hook-creation', 'hook-succeeded']);
      const migrate = job.spec.template.spec.containers[0]!;
      expect(migrate.command).toEqual(['node', 'dist/src/cli/migrate.js', 'run']);
      // The file the command runs is what `npm run build` (global setup) writes.
      expect(existsSync(join(root, migrate.command![1]!))).toBe(true);
      expect(job.spec.template.spec.restartPolicy).toBe('Never');

      const deployment = one<Workload>(manifests(), 'Deployment');
      expect(migrate.image).toBe(appContainer(deployment).image);
      // Hooks run before the ConfigMap exists: the Job carries the settings itself, and reads the same Secret.
      const jobEnv = Object.fromEntries((migrate.env ?? []).map((entry) => [entry.name, entry.value]));
      const configMap = one(manifests(), 'ConfigMap');
      expect(jobEnv).toEqual(configMap.data);
      expect(migrate.envFrom).toEqual([{ secretRef: { name: secretRefOf(appContainer(deployment)) } }]);
      // Not counted by the Service, the Deployment or the PDB.
      const selector = deployment.spec.selector!.matchLabels;
      const jobLabels = job.spec.template.metadata.labels;
      expect(Object.entries(selector).every(([key, value]) => jobLabels[key] === value)).toBe(false);

      expect(configMap.data!.MIGRATIONS_ON_START).toBe('false');
      const container = appContainer(deployment);
      expect(container.envFrom).toContainEqual({ configMapRef: { name: configMap.metadata.name } });
      expect((container.env ?? []).map((entry) => entry.name)).not.toContain('MIGRATIONS_ON_START');
    });

    it('lets the HPA own the replica count: no replicas in the Deployment', () => {
      const deployment = one<Workload>(manifests(), 'Deployment');
      expect(deployment.spec).not.toHaveProperty('replicas');
      const hpa = one(manifests(), 'HorizontalPodAutoscaler');
      expect(hpa.apiVersion).toBe('autoscaling/v2');
      const spec = hpa.spec as { scaleTargetRef: object; minReplicas: number; maxReplicas: number; metrics: object[] };
      expect(spec.scaleTargetRef).toEqual({ apiVersion: 'apps/v1', kind: 'Deployment', name: deployment.metadata.name });
      expect(spec.minReplicas).toBeGreaterThanOrEqual(2);
      expect(spec.maxReplicas).toBeGreaterThan(spec.minReplicas);
      expect(spec.metrics).toContainEqual({
        type: 'Resource',
        resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: expect.any(Number) } },
      });
    });

    it('keeps one pod through voluntary disruptions and spreads the pods over nodes and zones', () => {
      const deployment = one<Workload>(manifests(), 'Deployment');
      const selector = deployment.spec.selector!.matchLabels;
      const pdb = one(manifests(), 'PodDisruptionBudget');
      expect(pdb.apiVersion).toBe('policy/v1');
      expect(pdb.spec).toEqual({ minAvailable: 1, selector: { matchLabels: selector } });
      const spread = deployment.spec.template.spec.topologySpreadConstraints ?? [];
      expect(spread.map((constraint) => constraint.topologyKey)).toEqual(['kubernetes.io/hostname', 'topology.kubernetes.io/zone']);
      for (const constraint of spread) expect(constraint.labelSelector).toEqual({ matchLabels: selector });
    });

    it('runs the pods and the Job as non-root on a read-only root filesystem with a writable /tmp', () => {
      for (const workload of [one<Workload>(manifests(), 'Deployment'), one<Workload>(manifests(), 'Job')]) {
        const pod = workload.spec.template.spec;
        expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 1000 });
        const container = pod.containers[0]!;
        expect(container.securityContext).toMatchObject({ readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } });
        expect(container.volumeMounts).toContainEqual({ name: 'tmp', mountPath: '/tmp' });
        expect(pod.volumes).toContainEqual(expect.objectContaining({ name: 'tmp', emptyDir: expect.any(Object) }));
      }
    });

    it('sets resources and keeps the admin console off', () => {
      const container = appContainer(one<Workload>(manifests(), 'Deployment')) as Container & { resources?: { requests?: object; limits?: object } };
      expect(container.resources?.requests).toEqual({ cpu: expect.any(String), memory: expect.any(String) });
      expect(container.resources?.limits).toEqual({ memory: expect.any(String) });
      expect(one(manifests(), 'ConfigMap').data!.ADMIN_CONSOLE_ENABLED).toBe('false');
    });
  });

  it('renders the production-like values: their image, Secret, replicas, Ingress and ServiceMonitor', () => {
    const deployment = one<Workload>(production, 'Deployment');
    expect(appContainer(deployment).image).toBe('registry.example.com/platform/user-service:1.4.2');
    expect(secretRefOf(appContainer(deployment))).toBe('user-service-credentials');
    expect(one(production, 'HorizontalPodAutoscaler').spec).toMatchObject({ minReplicas: 3, maxReplicas: 12 });
    const ingress = one(production, 'Ingress');
    expect(ingress.spec).toMatchObject({ ingressClassName: 'nginx', tls: [{ secretName: 'users-example-com-tls', hosts: ['users.example.com'] }] });
    const paths = (ingress.spec as { rules: { host: string; http: { paths: { path: string }[] } }[] }).rules.flatMap((rule) => rule.http.paths.map((p) => p.path));
    // The API and the public keys; /metrics and /docs stay inside the cluster.
    expect(paths).toEqual(['/api', '/.well-known/jwks.json']);
    expect(one(production, 'ServiceMonitor').metadata.labels).toMatchObject({ release: 'kube-prometheus-stack' });
    expect(one(production, 'ConfigMap').data).toMatchObject({ CORS_ORIGINS: 'https://shop.example.com,https://admin.example.com', MAX_SESSIONS_PER_USER: '5' });
  });

  it('with existingSecret renders no Secret and none of the secret values it was given', () => {
    const manifests = ok(existingSecret);
    expect(kinds(manifests)).not.toContain('Secret');
    for (const workload of [one<Workload>(manifests, 'Deployment'), one<Workload>(manifests, 'Job')]) {
      expect(secretRefOf(workload.spec.template.spec.containers[0]!)).toBe('user-service-credentials');
    }
    const leaked = Object.entries(secretValues).filter(([, value]) => existingSecret.stdout.includes(value) || existingSecret.stdout.includes(nonce));
    expect(leaked).toEqual([]);
  });

  it('with secret.create renders those values (the contrast) in a Secret that is a hook ahead of the migration Job', () => {
    const manifests = ok(createdSecret);
    const secret = one(manifests, 'Secret');
    expect(secret.stringData).toEqual(secretValues);
    // Exactly there: nowhere else in the output (the pods read it through envFrom).
    for (const value of Object.values(secretValues)) expect(createdSecret.stdout.split(value).length - 1).toBe(1);
    const job = one(manifests, 'Job');
    expect(secret.metadata.annotations!['helm.sh/hook']!.split(',').sort()).toEqual(['pre-install', 'pre-upgrade']);
    expect(Number(secret.metadata.annotations!['helm.sh/hook-weight'])).toBeLessThan(Number(job.metadata.annotations!['helm.sh/hook-weight']));
    expect(secretRefOf(appContainer(one<Workload>(manifests, 'Deployment')))).toBe(secret.metadata.name);
  });

  it('lets the pods migrate at start (MIGRATIONS_ON_START=true) only when the Job is turned off', () => {
    expect(kinds(jobOff)).not.toContain('Job');
    expect(one(jobOff, 'ConfigMap').data!.MIGRATIONS_ON_START).toBe('true');
  });

  it('sets the replicas itself only with autoscaling off', () => {
    expect(kinds(hpaOff)).not.toContain('HorizontalPodAutoscaler');
    expect(one<Workload>(hpaOff, 'Deployment').spec.replicas).toBe(2);
    expect(kinds(hpaOff)).toContain('PodDisruptionBudget');
  });

  it('turns the admin console on through adminConsole.enabled', () => {
    expect(one(consoleOn, 'ConfigMap').data!.ADMIN_CONSOLE_ENABLED).toBe('true');
  });

  // The schema binds helm lint as well; helm lint renders in "lint mode", where the
  // templates' fail and required only log, so those refusals bind install and template.
  it.each([
    ['replicaCount: "two"', ['--set-string', 'replicaCount=two'], /\/replicaCount'?: got string, want integer/, 'schema'],
    ['autoscaling.minReplicas: 0', ['--set', 'autoscaling.minReplicas=0'], /\/autoscaling\/minReplicas'?: minimum: got 0, want 1/, 'schema'],
    ['an unknown top-level key', ['--set', 'replicas=3'], /additional properties 'replicas' not allowed/, 'schema'],
    ['a typo in a nested key', ['--set', 'autoscaling.maxReplica=3'], /\/autoscaling'?: additional properties 'maxReplica' not allowed/, 'schema'],
    ['MIGRATIONS_ON_START in config (the chart owns it)', ['--set', 'config.MIGRATIONS_ON_START=true'], /\/config\/MIGRATIONS_ON_START/, 'schema'],
    ['an unknown pull policy', ['--set', 'image.pullPolicy=Sometimes'], /\/image\/pullPolicy/, 'schema'],
    ['running as root', ['--set', 'podSecurityContext.runAsNonRoot=false'], /\/podSecurityContext\/runAsNonRoot/, 'schema'],
    ['secret.create with secret.existingSecret', ['--set', 'secret.create=true', '--set', 'secret.existingSecret=mine'], /secret\.create and secret\.existingSecret exclude each other/, 'template'],
    ['maxReplicas below minReplicas', ['--set', 'autoscaling.minReplicas=4', '--set', 'autoscaling.maxReplicas=3'], /autoscaling\.maxReplicas \(3\) must be at least autoscaling\.minReplicas \(4\)/, 'template'],
    ['secret.create without the URLs', ['--set', 'secret.create=true'], /secret\.data\.DATABASE_URL is required when secret\.create is true/, 'template'],
  ] as const)('refuses %s, naming the value', async (_name, args, message, by) => {
    const [rendered, linted] = await Promise.all([template(...args), runHelm(helm, ['lint', '--strict', chart, ...args])]);
    expect(rendered.code).not.toBe(0);
    expect(rendered.stdout).toBe('');
    expect(rendered.stderr).toMatch(message);
    if (by === 'schema') {
      expect(linted.code).not.toBe(0);
      expect(`${linted.stdout}${linted.stderr}`).toMatch(message);
    }
  });
});

describe('the chart README', () => {
  const readme = readFileSync(join(chart, 'README.md'), 'utf8');
  // The first column of the values table: `name` (a trailing .* stands for every key under it).
  const documented = [...readme.matchAll(/^\| `([^`]+)` \|/gm)].map((match) => match[1]!.replace(/\.\*$/, ''));
  const values = load(readFileSync(join(chart, 'values.yaml'), 'utf8')) as Record<string, unknown>;

  function paths(value: unknown, prefix = ''): string[] {
    if (value === null || typeof value !== 'object' || Array.isArray(value) || Object.keys(value).length === 0) return [prefix];
    return Object.entries(value).flatMap(([key, child]) => [prefix + key, ...paths(child, `${prefix}${key}.`).filter((path) => path !== `${prefix}${key}.`)]);
  }
  const all = paths(values);

  it('lists every value (itself or a parent that is described whole)', () => {
    const leaves = all.filter((path) => !all.some((other) => other.startsWith(`${path}.`)));
    const missing = leaves.filter((path) => !documented.some((name) => path === name || path.startsWith(`${name}.`)));
    expect(missing).toEqual([]);
  });

  it('lists only values that exist', () => {
    expect(documented.filter((name) => !all.includes(name))).toEqual([]);
  });
});

function secretRefOf(container: Container): string | undefined {
  return container.envFrom?.find((source) => source.secretRef)?.secretRef?.name;
}
