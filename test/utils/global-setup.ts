import './ts-resolution';

import { execSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

import { Client } from 'pg';
import { DataSource } from 'typeorm';

import { migrations } from '../../migrations/index.js';
import { generateRsaKeyPair } from '../../src/core/auth/signing-keys.js';
import { runMigrationsLocked } from '../../src/core/database/migrator.js';
import { buildDataSourceOptions } from '../../src/core/database/typeorm-options.js';
import { LOCAL, reachable } from './services.js';

const ci = process.env.CI === 'true';

function loud(message: string): void {
  const bar = '!'.repeat(78);
  console.warn(`\n${bar}\n!! ${message}\n${bar}\n`);
}

/** TEST_DATABASE_URL, else the local server when it answers, else an embedded one (fresh machines). */
async function adminDatabaseUrl(): Promise<string> {
  if (process.env.TEST_DATABASE_URL) return process.env.TEST_DATABASE_URL;
  if (await reachable(LOCAL.postgres)) return LOCAL.postgres;
  if (ci) throw new Error('CI=true but no PostgreSQL: set TEST_DATABASE_URL or run one on 127.0.0.1:5432');
  loud('No PostgreSQL at 127.0.0.1:5432: starting an embedded one for the tests');
  const child = spawn(process.execPath, [join(__dirname, 'embedded-pg.mjs'), join(tmpdir(), 'user-service-test-pg'), '54339'], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  (globalThis as Record<string, unknown>).__EMBEDDED_PG__ = child;
  for await (const line of createInterface({ input: child.stdout! })) {
    if (line.startsWith('READY ')) return line.slice('READY '.length);
  }
  throw new Error('the embedded PostgreSQL did not start');
}

/** A migrated template per migration set; each test file clones it (CREATE DATABASE ... TEMPLATE). */
async function ensureTemplate(adminUrl: string): Promise<string> {
  // Names and code: a migration edited in place (before release) must not leave a stale template behind.
  const digest = createHash('sha256')
    .update(migrations.map((m) => `${m.name}\n${m.prototype.up.toString()}\n${m.prototype.down.toString()}`).join('\n'))
    .digest('hex')
    .slice(0, 12);
  const template = `user_service_test_tpl_${digest}`;
  const admin = new Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    // Parallel test runs on one machine must not build the same template twice.
    await admin.query('SELECT pg_advisory_lock(727001002)');
    const { rowCount } = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [template]);
    if (!rowCount) {
      const building = `${template}_building`;
      await admin.query(`DROP DATABASE IF EXISTS ${building}`);
      await admin.query(`CREATE DATABASE ${building}`);
      const url = new URL(adminUrl);
      url.pathname = `/${building}`;
      const dataSource = new DataSource(buildDataSourceOptions(url.toString()));
      await dataSource.initialize();
      await runMigrationsLocked(dataSource);
      await dataSource.destroy();
      await admin.query(`ALTER DATABASE ${building} RENAME TO ${template}`);
    }
  } finally {
    await admin.query('SELECT pg_advisory_unlock(727001002)').catch(() => undefined);
    await admin.end();
  }
  return template;
}

async function probe(name: string, variable: string, fallback: string): Promise<void> {
  const url = process.env[variable] || fallback;
  if (await reachable(url)) {
    process.env[variable] = url;
    return;
  }
  if (ci) throw new Error(`CI=true but ${name} is unreachable at ${url} (set ${variable})`);
  loud(`${name} is unreachable at ${url}: tests that need ${name} are SKIPPED on this machine`);
  process.env[variable] = '';
}

/** A URL without its password, for the line that says what the run uses. */
function shown(url: string | undefined): string {
  if (!url) return 'none (its tests skip)';
  const parsed = new URL(url);
  if (parsed.password) parsed.password = '***';
  return parsed.toString();
}

export default async function globalSetup(): Promise<void> {
  const adminUrl = await adminDatabaseUrl();
  process.env.TEST_DATABASE_URL = adminUrl;
  process.env.TEST_DATABASE_TEMPLATE = await ensureTemplate(adminUrl);
  await probe('Redis', 'TEST_REDIS_URL', LOCAL.redis);
  await probe('RabbitMQ', 'TEST_RABBITMQ_URL', LOCAL.rabbitmq);
  console.log(
    `\nnpm test on Node.js ${process.version} uses PostgreSQL ${shown(adminUrl)}${adminUrl.includes(':54339/') ? ' (embedded)' : ''} ` +
      `(template database ${process.env.TEST_DATABASE_TEMPLATE}), Redis ${shown(process.env.TEST_REDIS_URL)}, RabbitMQ ${shown(process.env.TEST_RABBITMQ_URL)}`,
  );
  const keys = generateRsaKeyPair();
  // Once for the whole run: the tests that spawn the built service (dist/) must never see it rebuilt under them.
  execSync('npm run build --silent', { cwd: join(__dirname, '..', '..'), stdio: 'inherit' });
  process.env.TEST_JWT_PRIVATE_KEY = keys.privateKeyPem;
  process.env.TEST_JWT_PUBLIC_KEY = keys.publicKeyPem;
}
