import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

import { CORE_SCHEMA, load, mergeTag } from 'js-yaml';

// What can be checked of docker/ without a Docker engine: the compose file
// parses, names only variables its images know and wires the stack as
// documented; the Dockerfile starts what the build produces.

const root = join(__dirname, '..', '..');
const read = (path: string) => readFileSync(join(root, path), 'utf8');

/** The variables the service reads: every read.xxx('NAME') of the config, rate-limit rules expanded, and process.env.NAME elsewhere. */
function serviceVariables(): Set<string> {
  const config = read('src/core/config/config.ts');
  const names = new Set(['NODE_OPTIONS']);
  for (const [, method, name] of config.matchAll(/read\.(\w+)\(\s*'([A-Z][A-Z0-9_]*)'/g)) {
    if (method === 'rule') {
      names.add(`${name}_LIMIT`);
      names.add(`${name}_WINDOW_SECONDS`);
    } else {
      names.add(name!);
    }
  }
  for (const file of ['src/main.ts', 'src/core/auth/password-hasher.ts']) {
    for (const [, name] of read(file).matchAll(/process\.env\.([A-Z][A-Z0-9_]*)/g)) names.add(name!);
  }
  return names;
}

// Each other image's own variables (its documentation), by image name.
const imageVariables: Record<string, string[]> = {
  postgres: ['POSTGRES_USER', 'POSTGRES_PASSWORD', 'POSTGRES_DB', 'POSTGRES_INITDB_ARGS', 'PGDATA'],
  redis: [],
  rabbitmq: ['RABBITMQ_DEFAULT_USER', 'RABBITMQ_DEFAULT_PASS', 'RABBITMQ_DEFAULT_VHOST'],
  nginx: [],
};

interface ComposeService {
  image?: string;
  build?: { context: string; dockerfile: string };
  command?: string[];
  environment?: Record<string, string | null> | string[];
  ports?: string[];
  volumes?: string[];
  healthcheck?: { test?: string[]; disable?: boolean };
  depends_on?: Record<string, { condition: string }>;
  deploy?: { replicas?: number };
  read_only?: boolean;
  tmpfs?: string[];
}

interface Compose {
  services: Record<string, ComposeService>;
  volumes: Record<string, unknown>;
}

// Compose files use YAML merge keys (<<: *anchor), which js-yaml's default schema leaves out.
const compose = load(read('docker/compose.yaml'), { schema: CORE_SCHEMA.withTags(mergeTag) }) as Compose;
const services = compose.services;

function environment(service: ComposeService): Record<string, string | null> {
  const env = service.environment ?? {};
  if (!Array.isArray(env)) return env;
  return Object.fromEntries(env.map((entry) => [entry.split('=')[0]!, entry.includes('=') ? entry.slice(entry.indexOf('=') + 1) : null]));
}

/** A value as compose interpolates it with an empty shell: ${NAME:-default} is the default. */
function interpolated(value: string | null | undefined): string {
  return (value ?? '').replace(/\$\{[A-Z0-9_]+(?::?-([^}]*))?\}/g, (_match, fallback: string | undefined) => fallback ?? '');
}

const appServices = Object.keys(services).filter((name) => services[name]!.image === 'user-service:local');

describe('docker/compose.yaml', () => {
  it('has the stack: PostgreSQL, Redis, RabbitMQ, the one-shot keys and migrate services, the API and its proxy', () => {
    expect(Object.keys(services).sort()).toEqual(['api', 'keys', 'migrate', 'postgres', 'proxy', 'rabbitmq', 'redis']);
    expect(appServices.sort()).toEqual(['api', 'keys', 'migrate']);
    for (const name of appServices) expect(services[name]!.build).toEqual({ context: '..', dockerfile: 'docker/Dockerfile' });
  });

  it('names only environment variables the service or the image in question knows', () => {
    const known = serviceVariables();
    // The regex must find the config's variables at all (a renamed reader would make this test vacuous).
    for (const name of ['DATABASE_URL', 'REDIS_URL', 'RABBITMQ_URL', 'MIGRATIONS_ON_START', 'ADMIN_CONSOLE_ENABLED', 'RATE_LIMIT_LOGIN_LIMIT', 'PORT']) {
      expect(known).toContain(name);
    }
    const unknown: string[] = [];
    for (const [name, service] of Object.entries(services)) {
      const image = service.image!.split(':')[0]!;
      const allowed = appServices.includes(name) ? known : new Set(imageVariables[image] ?? []);
      if (!appServices.includes(name) && !(image in imageVariables)) unknown.push(`${name}: image ${image} (add its variables to this test)`);
      for (const variable of Object.keys(environment(service))) if (!allowed.has(variable)) unknown.push(`${name}: ${variable}`);
    }
    expect(unknown).toEqual([]);
  });

  it('wires the API and the migrations to the three services with the credentials those are given', () => {
    const postgres = environment(services.postgres!);
    const rabbitmq = environment(services.rabbitmq!);
    for (const name of ['api', 'migrate']) {
      const env = environment(services[name]!);
      const database = new URL(interpolated(env.DATABASE_URL));
      expect([database.protocol, database.hostname, database.port]).toEqual(['postgres:', 'postgres', '5432']);
      expect([database.username, database.password, database.pathname]).toEqual([postgres.POSTGRES_USER, postgres.POSTGRES_PASSWORD, `/${postgres.POSTGRES_DB}`]);
      const redis = new URL(interpolated(env.REDIS_URL));
      expect([redis.protocol, redis.hostname]).toEqual(['redis:', 'redis']);
      const broker = new URL(interpolated(env.RABBITMQ_URL));
      expect([broker.protocol, broker.hostname, broker.username, broker.password]).toEqual([
        'amqp:',
        'rabbitmq',
        rabbitmq.RABBITMQ_DEFAULT_USER,
        rabbitmq.RABBITMQ_DEFAULT_PASS,
      ]);
    }
  });

  it('gives the data services health checks and volumes, and RabbitMQ its management UI', () => {
    for (const name of ['postgres', 'redis', 'rabbitmq']) {
      const service = services[name]!;
      expect(service.healthcheck?.test?.length).toBeGreaterThan(0);
      const volume = service.volumes![0]!.split(':')[0]!;
      expect(compose.volumes).toHaveProperty(volume);
    }
    expect(services.rabbitmq!.image).toMatch(/-management$/);
    expect(services.rabbitmq!.ports).toContainEqual(expect.stringMatching(/:15672$/));
    expect(services.redis!.command).toEqual(expect.arrayContaining(['--maxmemory-policy', 'noeviction']));
  });

  it('runs the migrations once in a one-shot service the API waits for, and two API replicas that do not migrate', () => {
    const api = services.api!;
    expect(services.migrate!.command).toEqual(['node', 'dist/src/cli/migrate.js', 'run']);
    expect(services.migrate!.depends_on).toEqual({ postgres: { condition: 'service_healthy' } });
    expect(api.depends_on).toMatchObject({
      migrate: { condition: 'service_completed_successfully' },
      keys: { condition: 'service_completed_successfully' },
      redis: { condition: 'service_healthy' },
      rabbitmq: { condition: 'service_healthy' },
    });
    expect(api.deploy?.replicas).toBe(2);
    expect(api.ports).toBeUndefined();
    expect(environment(api).MIGRATIONS_ON_START).toBe('false');
    expect(api.read_only).toBe(true);
    expect(api.tmpfs).toEqual(['/tmp']);
  });

  it('gives every replica the one key pair: made once into their DATA_DIR volume, or from the environment', () => {
    const api = services.api!;
    const env = environment(api);
    expect(env.JWT_PRIVATE_KEY).toBe('${JWT_PRIVATE_KEY:-}');
    expect(env.JWT_PUBLIC_KEY).toBe('${JWT_PUBLIC_KEY:-}');
    // Outside production the service reads DATA_DIR (default .data, from WORKDIR /app)/jwt-{private,public}.pem.
    expect(interpolated(env.NODE_ENV)).toBe('development');
    expect(read('src/core/auth/signing-keys.ts')).toMatch(/join\(config\.dataDir, 'jwt-private\.pem'\)[\s\S]*join\(config\.dataDir, 'jwt-public\.pem'\)/);
    expect(api.volumes).toEqual(['app-keys:/app/.data:ro']);
    expect(services.keys!.volumes).toEqual(['app-keys:/app/.data']);
    const script = services.keys!.command!.join(' ');
    expect(script).toContain("'/app/.data'");
    expect(script).toContain("'/jwt-private.pem'");
    expect(script).toContain("'/jwt-public.pem'");
  });

  it('publishes one port, the proxy, which forwards to the API port', () => {
    const published = Object.entries(services).filter(([name, service]) => service.ports && name !== 'rabbitmq');
    expect(published.map(([name]) => name)).toEqual(['proxy']);
    expect(services.proxy!.ports).toEqual(['127.0.0.1:${APP_PORT:-3000}:8080']);
    const [source, target] = services.proxy!.volumes![0]!.split(':');
    expect(target).toBe('/etc/nginx/conf.d/default.conf');
    const nginx = read(join('docker', source!));
    expect(nginx).toMatch(/listen 8080;/);
    expect(nginx).toContain(`set $api http://api:${environment(services.api!).PORT};`);
    expect(nginx).toMatch(/proxy_pass \$api;/);
  });
});

describe('docker/Dockerfile', () => {
  const dockerfile = read('docker/Dockerfile');
  const packageJson = JSON.parse(read('package.json')) as { scripts: Record<string, string> };

  it("starts the build's entry point, which npm run build writes to dist/src/main.js", () => {
    const cmds = [...dockerfile.matchAll(/^CMD (.+)$/gm)].map((match) => JSON.parse(match[1]!) as string[]);
    expect(cmds.at(-1)).toEqual(['node', 'dist/src/main.js']);
    expect(packageJson.scripts['start:prod']).toBe('node dist/src/main.js');
    expect(packageJson.scripts.build).toMatch(/swc src migrations -d dist /);
    // The runtime stage runs from /app with the build stage's dist/ copied there.
    const runtime = dockerfile.slice(dockerfile.lastIndexOf('\nFROM '));
    expect(runtime).toMatch(/^WORKDIR \/app$/m);
    expect(runtime).toMatch(/^COPY --from=build \/app\/dist \.\/dist$/m);
    // The integration tests' global setup ran npm run build.
    expect(existsSync(join(root, 'dist', 'src', 'main.js'))).toBe(true);
  });

  it('holds the migration command that compose and the chart run', () => {
    expect(existsSync(join(root, 'dist', 'src', 'cli', 'migrate.js'))).toBe(true);
    expect(packageJson.scripts['migration:run:prod']).toBe('node dist/src/cli/migrate.js run');
    const values = load(read('helm/user-service/values.yaml')) as { migrations: { job: { command: string[] } }; podSecurityContext: { runAsUser: number } };
    expect(values.migrations.job.command).toEqual(services.migrate!.command);
    // The chart's runAsUser is the image's user.
    expect(dockerfile).toMatch(new RegExp(`^USER ${values.podSecurityContext.runAsUser}:`, 'm'));
  });
});

describe('.github/workflows/ci.yml', () => {
  type Step = { run?: string; uses?: string };
  const workflow = load(read('.github/workflows/ci.yml'), { schema: CORE_SCHEMA }) as {
    jobs: Record<string, { steps: Step[]; services?: Record<string, { image: string }> }>;
  };
  const runs = (job: string) => workflow.jobs[job]!.steps.map((step) => step.run ?? step.uses ?? '').join('\n');

  it('runs .ci/run against PostgreSQL, Redis and RabbitMQ containers, builds the image and lints the chart', () => {
    const tests = Object.entries(workflow.jobs).find(([name]) => runs(name).includes('bash .ci/run'));
    expect(tests).toBeDefined();
    expect(Object.values(tests![1].services ?? {}).map((service) => service.image.split(':')[0])).toEqual(['postgres', 'redis', 'rabbitmq']);
    const all = Object.keys(workflow.jobs).map(runs).join('\n');
    expect(all).toMatch(/docker\/build-push-action|docker build/);
    expect(all).toMatch(/helm lint/);
    expect(all).toMatch(/helm template/);
  });
});
