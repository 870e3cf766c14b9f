import Redis from 'ioredis';

import { registerUser } from '../factories/user.factory.js';
import { appBehindRedisProxy, bootTestApp, describeWithRedis, redisUrl, type TestApp } from '../utils/test-app.js';

const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });

describeWithRedis('Redis outage (e2e)', () => {
  const redisApp = appBehindRedisProxy();

  it('keeps serving while Redis is away, still refuses ended sessions, and catches the cache up afterwards', async () => {
    const { t, proxy } = redisApp;
    const user = await registerUser(t.http);
    const second = await t.http().post('/api/v1/auth/login').send({ email: user.email, password: user.password }).expect(200);
    await waitFor(async () => (await t.http().get('/api/v1/health/ready')).status === 200, 10_000);

    await proxy.stop();
    const ready = await t.http().get('/api/v1/health/ready').expect(503);
    expect(ready.body.error).toHaveProperty('cache');
    expect(ready.body.info).toHaveProperty('database');

    // Sign-in, profile reads, refresh and sign-out all still work.
    const third = await t.http().post('/api/v1/auth/login').send({ email: user.email, password: user.password }).expect(200);
    await t.http().get('/api/v1/users/me').set(bearer(third.body.accessToken)).expect(200);
    const refreshed = await t.http().post('/api/v1/auth/refresh').send({ refreshToken: third.body.refreshToken }).expect(200);
    await t.http().post('/api/v1/auth/logout').set(bearer(second.body.accessToken)).expect(204);
    // The revocation could not reach the cache: the database decides instead.
    await t.http().get('/api/v1/users/me').set(bearer(second.body.accessToken)).expect(401);
    await t.http().get('/api/v1/users/me').set(bearer(refreshed.body.accessToken)).expect(200);

    await proxy.start();
    // Once Redis is back, the pending revocation mark is written, so the cache alone refuses the token.
    const redis = new Redis(redisUrl()!);
    try {
      const sid = JSON.parse(Buffer.from(second.body.accessToken.split('.')[1], 'base64url').toString()).sid;
      await waitFor(async () => (await redis.keys(`${t.config.redisKeyPrefix}*revoked-session:${sid}`)).length === 1, 15_000);
    } finally {
      redis.disconnect();
    }
    await waitFor(async () => (await t.http().get('/api/v1/health/ready')).status === 200, 15_000);
    await t.http().get('/api/v1/users/me').set(bearer(second.body.accessToken)).expect(401);
  }, 60_000);
});

describe('No Redis configured (in-process cache and limiter)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await bootTestApp({ redis: false });
  });
  afterAll(() => t.close());

  it('serves sign-in, revocation and readiness without Redis', async () => {
    const user = await registerUser(t.http);
    await t.http().get('/api/v1/users/me').set(bearer(user.accessToken)).expect(200);
    await t.http().post('/api/v1/auth/logout').set(bearer(user.accessToken)).expect(204);
    await t.http().get('/api/v1/users/me').set(bearer(user.accessToken)).expect(401);
    const ready = await t.http().get('/api/v1/health/ready').expect(200);
    expect(Object.keys(ready.body.details)).toEqual(['database']);
  });
});

async function waitFor(condition: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}
