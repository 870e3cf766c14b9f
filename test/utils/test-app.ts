import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';

import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import amqplib, { type Channel } from 'amqplib';
import Redis from 'ioredis';
import { Client } from 'pg';
import request from 'supertest';
export type TestAgent = ReturnType<typeof request>;

import { createApp } from '../../src/app.js';
import { type AppConfig, loadConfig } from '../../src/core/config/config.js';
import { auxiliaryQueues } from '../../src/core/messaging/service-queue-server.js';
import { TcpProxy } from './tcp-proxy.js';

export const redisUrl = () => process.env.TEST_REDIS_URL || undefined;
export const rabbitmqUrl = () => process.env.TEST_RABBITMQ_URL || undefined;

/** describe for tests that need Redis: skipped, loudly, only where globalSetup found none (never under CI). */
export const describeWithRedis = (name: string, fn: () => void) =>
  (redisUrl() ? describe : describe.skip)(redisUrl() ? name : `${name} [SKIPPED: no Redis]`, fn);

export const describeWithRabbitMq = (name: string, fn: () => void) =>
  (rabbitmqUrl() ? describe : describe.skip)(rabbitmqUrl() ? name : `${name} [SKIPPED: no RabbitMQ]`, fn);

function adminClient(): Client {
  return new Client({ connectionString: process.env.TEST_DATABASE_URL });
}

/** A database of this test file's own, cloned from the migrated template. */
export async function createTestDatabase(): Promise<{ url: string; drop: () => Promise<void> }> {
  const name = `user_service_test_${process.pid}_${randomBytes(4).toString('hex')}`;
  const admin = adminClient();
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name} TEMPLATE ${process.env.TEST_DATABASE_TEMPLATE}`);
  } finally {
    await admin.end();
  }
  const url = new URL(process.env.TEST_DATABASE_URL!);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: async () => {
      const client = adminClient();
      await client.connect();
      try {
        await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await client.end();
      }
    },
  };
}

export interface TestApp {
  app: NestFastifyApplication;
  config: AppConfig;
  http: () => TestAgent;
  databaseUrl: string;
  close: () => Promise<void>;
  /** The JSON lines the app logged, when booted with captureLogs. */
  logs: () => Record<string, unknown>[];
}

export interface TestAppOptions {
  /** Environment overrides, as an operator would set them. */
  env?: Record<string, string | undefined>;
  /** Use Redis when the machine has it (default), or the in-process store. */
  redis?: boolean;
  /** Reuse a database instead of creating one (the owner drops it). */
  databaseUrl?: string;
  /** Keep what the app logs (at LOG_LEVEL info unless env says otherwise), for logs(). */
  captureLogs?: boolean;
}

/** Boots the real hybrid app in-process against its own database, Redis key prefix and (optionally) broker. */
export async function bootTestApp(options: TestAppOptions = {}): Promise<TestApp> {
  const database = options.databaseUrl ? undefined : await createTestDatabase();
  const databaseUrl = options.databaseUrl ?? database!.url;
  const prefix = `user-service-test:${process.pid}:${randomBytes(4).toString('hex')}`;
  const useRedis = options.redis !== false && redisUrl();
  // Own exchange and queue per app, so test files never see each other's messages on the shared broker.
  const messaging = { EVENTS_EXCHANGE: `user.events.${prefix}`, SERVICE_QUEUE: `user-service.${prefix}` };
  const config = loadConfig({
    NODE_ENV: 'test',
    DATABASE_URL: databaseUrl,
    REDIS_URL: useRedis ? redisUrl() : undefined,
    REDIS_KEY_PREFIX: prefix,
    JWT_PRIVATE_KEY: process.env.TEST_JWT_PRIVATE_KEY,
    JWT_PUBLIC_KEY: process.env.TEST_JWT_PUBLIC_KEY,
    BCRYPT_COST: '4',
    LOG_LEVEL: options.captureLogs ? 'info' : 'silent',
    RATE_LIMIT_REGISTER_LIMIT: '10000',
    RATE_LIMIT_LOGIN_LIMIT: '10000',
    LOGIN_LOCKOUT_FAILURES: '10000',
    LOGIN_ACCOUNT_LOCKOUT_FAILURES: '10000',
    RATE_LIMIT_REFRESH_LIMIT: '10000',
    RATE_LIMIT_VERIFICATION_RESEND_LIMIT: '10000',
    RATE_LIMIT_PASSWORD_FORGOT_LIMIT: '10000',
    RATE_LIMIT_PASSWORD_FORGOT_ACCOUNT_LIMIT: '10000',
    RATE_LIMIT_PASSWORD_RESET_LIMIT: '10000',
    RATE_LIMIT_PASSWORD_CHANGE_LIMIT: '10000',
    ...messaging,
    ...options.env,
  });
  const logged: string[] = [];
  const logDestination = new Writable({
    write(chunk, _encoding, done) {
      logged.push(String(chunk));
      done();
    },
  });
  const app = await createApp(config, options.captureLogs ? { logDestination } : {});
  await app.getHttpAdapter().getInstance().ready();
  return {
    app,
    config,
    databaseUrl,
    http: () => request(app.getHttpServer()),
    logs: () =>
      logged
        .join('')
        .split('\n')
        .filter(Boolean)
        .map((line) => JSON.parse(line) as Record<string, unknown>),
    close: async () => {
      await app.close();
      if (useRedis) await deleteRedisKeys(`${prefix}*`);
      // Only names this app chose itself; names passed in belong to the test.
      const ownsBrokerObjects = !options.env?.EVENTS_EXCHANGE && !options.env?.SERVICE_QUEUE;
      if (config.rabbitmqUrl && ownsBrokerObjects) {
        await deleteBrokerObjects(config.messaging.eventsExchange, config.messaging.serviceQueue, ...auxiliaryQueues(config.messaging));
      }
      await database?.drop();
    },
  };
}

/** Removes the exchange and queue this test app declared (never anything else on the shared broker). */
export async function deleteBrokerObjects(exchange: string | undefined, ...queues: string[]): Promise<void> {
  const connection = await amqplib.connect(rabbitmqUrl()!);
  connection.on('error', () => undefined);
  try {
    // A channel per object: a failed delete (never declared) closes its channel.
    // A service queue comes with its dead-letter and retry queues (at their default names and delays).
    const withAuxiliaries = queues.flatMap((queue) => [queue, ...auxiliaryQueues(loadConfig({ SERVICE_QUEUE: queue }).messaging)]);
    const removals: ((c: Channel) => Promise<unknown>)[] = [...new Set(withAuxiliaries)].map((queue) => (c: Channel) => c.deleteQueue(queue));
    if (exchange) removals.push((c: Channel) => c.deleteExchange(exchange));
    for (const remove of removals) {
      const channel = await connection.createChannel();
      channel.on('error', () => undefined);
      await remove(channel).catch(() => undefined);
      await channel.close().catch(() => undefined);
    }
  } finally {
    await connection.close();
  }
}

/** Removes only this test's keys (the Redis is shared: never FLUSHALL). */
export async function deleteRedisKeys(pattern: string): Promise<void> {
  const redis = new Redis(redisUrl()!);
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 500);
      if (keys.length) await redis.del(...keys);
      cursor = next;
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}

export async function query<T = Record<string, unknown>>(databaseUrl: string, sql: string, params: unknown[] = []): Promise<T[]> {
  const client = new Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    return (await client.query(sql, params)).rows as T[];
  } finally {
    await client.end();
  }
}

/**
 * For a describe block: an app whose Redis is reached through a TCP proxy, so
 * a test can cut Redis off (proxy.stop()) and bring it back (proxy.start())
 * without touching the shared server. Booted before the block's tests, closed
 * after them (proxy restored first, so the app shuts down cleanly).
 */
export function appBehindRedisProxy(): { t: TestApp; proxy: TcpProxy } {
  const context = {} as { t: TestApp; proxy: TcpProxy };
  beforeAll(async () => {
    context.proxy = await TcpProxy.forUrl(redisUrl()!).start();
    context.t = await bootTestApp({ env: { REDIS_URL: context.proxy.url(redisUrl()!) } });
  });
  afterAll(async () => {
    await context.proxy.start();
    await context.t.close();
    await context.proxy.stop();
  });
  return context;
}
