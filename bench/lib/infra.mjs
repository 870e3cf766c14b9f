// The local services a run uses: its own PostgreSQL databases, Redis key
// prefix and RabbitMQ vhost, each created here and removed at the end.
import { execFile } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { promisify } from 'node:util';

import pg from 'pg';
import Redis from 'ioredis';

const run = promisify(execFile);

/** An RSA-2048 pair for RS256, PEM-encoded, as JWT_PRIVATE_KEY / JWT_PUBLIC_KEY. */
export function generateJwtKeys() {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', {
    modulusLength: 2048,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });
  return { privateKey, publicKey };
}

const SAFE_NAME = /^[a-z0-9_]+$/;

function withDatabase(adminUrl, name) {
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

/** Creates a fresh database and returns its URL; the name must be ours (checked). */
export async function createDatabase(adminUrl, name) {
  if (!SAFE_NAME.test(name) || !name.startsWith('user_service_bench_')) throw new Error(`refusing database name ${name}`);
  const client = new pg.Client({ connectionString: adminUrl, connectionTimeoutMillis: 5_000 });
  await client.connect();
  try {
    await client.query(`CREATE DATABASE ${name}`);
  } finally {
    await client.end();
  }
  return withDatabase(adminUrl, name);
}

/** Drops a database this run created (never any other: the caller passes only names it created). */
export async function dropDatabase(adminUrl, name) {
  if (!SAFE_NAME.test(name) || !name.startsWith('user_service_bench_')) throw new Error(`refusing database name ${name}`);
  const client = new pg.Client({ connectionString: adminUrl, connectionTimeoutMillis: 5_000, query_timeout: 30_000 });
  await client.connect();
  try {
    await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  } finally {
    await client.end();
  }
}

/** Deletes the keys that start with `prefix` (SCAN, never FLUSH*); returns how many. Bounded. */
export async function deleteRedisKeys(redisUrl, prefix) {
  if (!prefix || /[*?[\]\\]/.test(prefix) || !prefix.startsWith('user-service-bench-')) {
    throw new Error(`refusing Redis prefix ${prefix}`);
  }
  const redis = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1, connectTimeout: 5_000, enableOfflineQueue: false });
  redis.on('error', () => undefined);
  await redis.connect();
  let deleted = 0;
  try {
    let cursor = '0';
    for (let i = 0; i < 1_000_000; i++) {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      const ours = keys.filter((key) => key.startsWith(prefix));
      if (ours.length > 0) deleted += await redis.del(...ours);
      cursor = next;
      if (cursor === '0') break;
    }
  } finally {
    redis.disconnect();
  }
  return deleted;
}

/** Counts keys with the prefix (for the report). */
export async function countRedisKeys(redisUrl, prefix) {
  const redis = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1, connectTimeout: 5_000, enableOfflineQueue: false });
  redis.on('error', () => undefined);
  await redis.connect();
  let count = 0;
  try {
    let cursor = '0';
    for (let i = 0; i < 1_000_000; i++) {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      count += keys.length;
      cursor = next;
      if (cursor === '0') break;
    }
  } finally {
    redis.disconnect();
  }
  return count;
}

/**
 * A RabbitMQ vhost of this run's own, so the service's durable `user-service`
 * queue and `user.events` exchange never meet anyone else's (tests running on
 * the same broker). Needs rabbitmqctl on this machine; returns the amqp URL.
 */
export async function createVhost(baseUrl, vhost) {
  if (!/^user_service_bench_[a-z0-9_]+$/.test(vhost)) throw new Error(`refusing vhost ${vhost}`);
  const user = decodeURIComponent(new URL(baseUrl).username || 'guest');
  await run('rabbitmqctl', ['add_vhost', vhost], { timeout: 30_000 });
  await run('rabbitmqctl', ['set_permissions', '-p', vhost, user, '.*', '.*', '.*'], { timeout: 30_000 });
  const url = new URL(baseUrl);
  url.pathname = `/${encodeURIComponent(vhost)}`;
  return url.toString();
}

export async function deleteVhost(vhost) {
  if (!/^user_service_bench_[a-z0-9_]+$/.test(vhost)) throw new Error(`refusing vhost ${vhost}`);
  await run('rabbitmqctl', ['delete_vhost', vhost], { timeout: 30_000 });
}
