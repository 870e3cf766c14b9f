import { randomBytes } from 'node:crypto';

import KeyvRedis, { type RedisConnectionClientType } from '@keyv/redis';
import Redis from 'ioredis';

import { readEvictionPolicy } from '../../src/core/cache/redis-eviction-policy.js';
import { registerUser } from '../factories/user.factory.js';
import { TcpProxy } from '../utils/tcp-proxy.js';
import { bootTestApp, createTestDatabase, describeWithRedis, query, redisUrl, type TestApp } from '../utils/test-app.js';

const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });
const sessionOf = (accessToken: string): string =>
  JSON.parse(Buffer.from(accessToken.split('.')[1]!, 'base64url').toString()).sid as string;

async function waitFor(condition: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Direct Redis access under the replicas' shared key prefix (read, and delete only that prefix). */
function sharedRedis(prefix: string) {
  const redis = new Redis(redisUrl()!);
  return {
    hasMark: async (sid: string) => (await redis.keys(`${prefix}*revoked-session:${sid}`)).length === 1,
    close: async () => {
      let cursor = '0';
      do {
        const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
        if (keys.length) await redis.del(...keys);
        cursor = next;
      } while (cursor !== '0');
      redis.disconnect();
    },
  };
}

const markPending = async (databaseUrl: string, sid: string) =>
  (await query<{ pending: boolean }>(databaseUrl, 'SELECT revocation_mark_pending AS pending FROM sessions WHERE id = $1', [sid]))[0]
    ?.pending;

describeWithRedis('Revocation across replicas (e2e)', () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let prefix: string;
  let redis: ReturnType<typeof sharedRedis>;
  /** Two replicas: one database, one Redis key prefix. */
  const replica = (env: Record<string, string> = {}) =>
    bootTestApp({ databaseUrl: database.url, env: { REDIS_KEY_PREFIX: prefix, ...env } });

  beforeAll(async () => {
    database = await createTestDatabase();
    prefix = `user-service-test:${process.pid}:replicas-${randomBytes(4).toString('hex')}`;
    redis = sharedRedis(prefix);
  });
  afterAll(async () => {
    await redis.close();
    await database.drop();
  });

  describe('while one replica cannot reach Redis', () => {
    let proxy: TcpProxy;
    let a: TestApp;
    let b: TestApp;

    beforeAll(async () => {
      proxy = await TcpProxy.forUrl(redisUrl()!).start();
      a = await replica({ REDIS_URL: proxy.url(redisUrl()!) });
      b = await replica();
    });
    afterAll(async () => {
      await proxy.start();
      await a.close();
      await b.close();
      await proxy.stop();
    });
    afterEach(() => proxy.start());

    it('a sign-out on it answers 204, and at once the other replica, whose Redis is healthy and had no mark, refuses the token', async () => {
      const user = await registerUser(b.http);
      const other = await b.http().post('/api/v1/auth/login').send({ email: user.email, password: user.password }).expect(200);
      await a.http().get('/api/v1/users/me').set(bearer(user.accessToken)).expect(200);
      await b.http().get('/api/v1/users/me').set(bearer(user.accessToken)).expect(200);

      await proxy.stop();
      await a.http().post('/api/v1/auth/logout').set(bearer(user.accessToken)).expect(204);

      await b.http().get('/api/v1/users/me').set(bearer(user.accessToken)).expect(401);
      await a.http().get('/api/v1/users/me').set(bearer(user.accessToken)).expect(401);
      // Only that session ended.
      await b.http().get('/api/v1/users/me').set(bearer(other.body.accessToken)).expect(200);
      // The healthy replica has stored the mark meanwhile, and cleared the flag.
      const sid = sessionOf(user.accessToken);
      await waitFor(async () => (await redis.hasMark(sid)) && (await markPending(database.url, sid)) === false, 10_000);
    });

    it('ending another session from it (DELETE /auth/sessions/:id) binds the other replica too', async () => {
      const user = await registerUser(b.http);
      const second = await b.http().post('/api/v1/auth/login').send({ email: user.email, password: user.password }).expect(200);

      await proxy.stop();
      await a
        .http()
        .delete(`/api/v1/auth/sessions/${sessionOf(second.body.accessToken)}`)
        .set(bearer(user.accessToken))
        .expect(204);

      await b.http().get('/api/v1/users/me').set(bearer(second.body.accessToken)).expect(401);
      await b.http().get('/api/v1/users/me').set(bearer(user.accessToken)).expect(200);
    });

    it('a sign-out while Redis is healthy answers at once and is stored in Redis before the answer', async () => {
      const user = await registerUser(a.http);
      const sid = sessionOf(user.accessToken);

      const startedAt = Date.now();
      await a.http().post('/api/v1/auth/logout').set(bearer(user.accessToken)).expect(204);

      expect(Date.now() - startedAt).toBeLessThan(1_000);
      expect(await redis.hasMark(sid)).toBe(true);
      await b.http().get('/api/v1/users/me').set(bearer(user.accessToken)).expect(401);
      await waitFor(async () => (await markPending(database.url, sid)) === false, 5_000);
    });
  });

  it('survives the replica that wrote it: revoked with its Redis cut off, closed without reconnecting, still refused elsewhere, and stored by another', async () => {
    const proxy = await TcpProxy.forUrl(redisUrl()!).start();
    const a = await replica({ REDIS_URL: proxy.url(redisUrl()!) });
    let b: TestApp | undefined;
    try {
      const user = await registerUser(a.http);
      const sid = sessionOf(user.accessToken);

      await proxy.stop();
      await a.http().post('/api/v1/auth/logout').set(bearer(user.accessToken)).expect(204);
      await a.close();

      // Nobody stored the mark: only the database knows.
      expect(await redis.hasMark(sid)).toBe(false);
      expect(await markPending(database.url, sid)).toBe(true);

      b = await replica();
      await b.http().get('/api/v1/users/me').set(bearer(user.accessToken)).expect(401);
      await waitFor(async () => (await redis.hasMark(sid)) && (await markPending(database.url, sid)) === false, 10_000);
      await b.http().get('/api/v1/users/me').set(bearer(user.accessToken)).expect(401);
    } finally {
      await b?.close();
      await proxy.stop();
    }
  }, 60_000);
});

describeWithRedis('Neither Redis nor PostgreSQL reachable (e2e)', () => {
  let redisProxy: TcpProxy;
  let databaseProxy: TcpProxy;
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let t: TestApp;

  beforeAll(async () => {
    database = await createTestDatabase();
    redisProxy = await TcpProxy.forUrl(redisUrl()!).start();
    databaseProxy = await TcpProxy.forUrl(database.url).start();
    t = await bootTestApp({ databaseUrl: databaseProxy.url(database.url), env: { REDIS_URL: redisProxy.url(redisUrl()!) } });
  });
  afterAll(async () => {
    await Promise.all([redisProxy.start(), databaseProxy.start()]);
    await t.close();
    await Promise.all([redisProxy.stop(), databaseProxy.stop()]);
    await database.drop();
  });

  it('an authenticated request answers 503 SERVICE_UNAVAILABLE problem+json, not 401 (the client keeps its valid token)', async () => {
    const user = await registerUser(t.http);
    await t.http().get('/api/v1/users/me').set(bearer(user.accessToken)).expect(200);

    await Promise.all([redisProxy.stop(), databaseProxy.stop()]);
    const response = await t.http().get('/api/v1/users/me').set(bearer(user.accessToken));

    expect(response.status).toBe(503);
    expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(response.body).toMatchObject({ status: 503, code: 'SERVICE_UNAVAILABLE' });
    expect(response.headers['retry-after']).toBe('2');
    // A token that is bad in itself is still a 401: nothing had to be looked up.
    await t.http().get('/api/v1/users/me').set(bearer(`${user.accessToken}x`)).expect(401);

    await Promise.all([redisProxy.start(), databaseProxy.start()]);
    await waitFor(async () => (await t.http().get('/api/v1/users/me').set(bearer(user.accessToken))).status === 200, 15_000);
  }, 60_000);
});

describeWithRedis('Redis maxmemory-policy (read only, on the shared Redis)', () => {
  it('is read through the client the app uses, and is noeviction here (the app would not start otherwise)', async () => {
    const store = new KeyvRedis(redisUrl()!);
    const client = store.client as RedisConnectionClientType;
    await client.connect();
    try {
      await expect(readEvictionPolicy(client)).resolves.toEqual({ policy: 'noeviction' });
    } finally {
      client.destroy();
    }
  });
});
