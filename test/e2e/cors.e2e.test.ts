import { registerUser } from '../factories/user.factory.js';
import { bootTestApp, type TestAgent, type TestApp } from '../utils/test-app.js';

const SHOP = 'https://shop.example.com';
const LOCAL = 'http://localhost:5173';
const STRANGER = 'https://evil.example.net';

function preflight(http: () => TestAgent, path: string, origin: string, method: string, headers?: string): ReturnType<TestAgent['options']> {
  const call = http().options(path).set('Origin', origin).set('Access-Control-Request-Method', method);
  return headers === undefined ? call : call.set('Access-Control-Request-Headers', headers);
}

/** The CORS response headers of an answer (Vary aside). */
const corsHeaders = (headers: Record<string, string>) => Object.keys(headers).filter((name) => name.startsWith('access-control-'));

const list = (value: string | undefined) => (value ?? '').split(',').map((entry) => entry.trim().toLowerCase());

describe('CORS (e2e)', () => {
  describe('with CORS_ORIGINS', () => {
    let t: TestApp;
    beforeAll(async () => {
      t = await bootTestApp({ env: { CORS_ORIGINS: `${SHOP}, ${LOCAL}` } });
    });
    afterAll(() => t.close());

    it('answers a preflight for POST /auth/login from a configured origin with 204 and the CORS headers', async () => {
      const response = await preflight(t.http, '/api/v1/auth/login', SHOP, 'POST', 'content-type,idempotency-key,x-correlation-id').expect(204);
      expect(response.headers['access-control-allow-origin']).toBe(SHOP);
      expect(list(response.headers.vary)).toContain('origin');
      expect(list(response.headers['access-control-allow-methods'])).toEqual(['get', 'post', 'patch', 'delete']);
      expect(list(response.headers['access-control-allow-headers'])).toEqual(
        expect.arrayContaining(['authorization', 'content-type', 'idempotency-key', 'x-correlation-id', 'x-api-key']),
      );
      expect(response.headers['access-control-max-age']).toBe('600');
      expect(response.headers['access-control-allow-credentials']).toBeUndefined();
      // Read from real answers only.
      expect(response.headers['access-control-expose-headers']).toBeUndefined();
      expect(response.headers['x-correlation-id']).toMatch(/^[0-9a-f-]{36}$/);
      expect(response.text).toBe('');
    });

    it('answers a preflight for GET /users/me (Authorization, so no guard may see it) from the other configured origin', async () => {
      const response = await preflight(t.http, '/api/v1/users/me', LOCAL, 'GET', 'authorization').expect(204);
      expect(response.headers['access-control-allow-origin']).toBe(LOCAL);
      expect(list(response.headers.vary)).toContain('origin');
      expect(list(response.headers['access-control-allow-headers'])).toContain('authorization');
    });

    it('answers preflights for PATCH and DELETE routes and for unknown routes alike, never with a 404 or 5xx', async () => {
      for (const [path, method] of [
        ['/api/v1/users/me', 'PATCH'],
        ['/api/v1/users/me', 'DELETE'],
        ['/api/v1/nowhere', 'GET'],
      ]) {
        const response = await preflight(t.http, path, SHOP, method, 'authorization,content-type').expect(204);
        expect(response.headers['access-control-allow-origin']).toBe(SHOP);
      }
    });

    it('gives a preflight from another origin no Access-Control-Allow-Origin (and no error)', async () => {
      for (const origin of [STRANGER, 'null', `${SHOP}.evil.example.net`, 'http://shop.example.com', 'https://shop.example.com:8443']) {
        const response = await preflight(t.http, '/api/v1/auth/login', origin, 'POST', 'content-type').expect(204);
        expect(response.headers['access-control-allow-origin']).toBeUndefined();
        expect(response.headers['access-control-allow-credentials']).toBeUndefined();
        expect(response.headers['access-control-expose-headers']).toBeUndefined();
        expect(response.text).toBe('');
      }
    });

    it('lets a configured origin read a real answer and the headers it needs', async () => {
      const user = await registerUser(t.http);
      const response = await t.http().get('/api/v1/users/me').set('Origin', SHOP).set('Authorization', `Bearer ${user.accessToken}`).expect(200);
      expect(response.body.id).toBe(user.id);
      expect(response.headers['access-control-allow-origin']).toBe(SHOP);
      expect(list(response.headers.vary)).toContain('origin');
      expect(response.headers['access-control-allow-credentials']).toBeUndefined();
      expect(list(response.headers['access-control-expose-headers'])).toEqual(expect.arrayContaining(['x-correlation-id', 'retry-after']));
      // The other hooks still run for CORS requests.
      expect(response.headers['cache-control']).toBe('no-store');
      expect(response.headers['x-content-type-options']).toBe('nosniff');
    });

    it('exposes every rate-limit header the app sends', async () => {
      const response = await t.http().post('/api/v1/auth/login').set('Origin', SHOP).send({ email: 'nobody@example.com', password: 'Wrong-password-1' }).expect(401);
      expect(response.headers['access-control-allow-origin']).toBe(SHOP);
      const sent = Object.keys(response.headers).filter((name) => /ratelimit|retry-after/.test(name));
      expect(sent).toEqual(expect.arrayContaining(['x-ratelimit-limit-login', 'x-ratelimit-remaining-login', 'x-ratelimit-reset-login']));
      expect(list(response.headers['access-control-expose-headers'])).toEqual(expect.arrayContaining(sent));
    });

    it('lets a configured origin read error answers (problem+json)', async () => {
      const response = await t.http().get('/api/v1/users/me').set('Origin', LOCAL).expect(401);
      expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(response.headers['access-control-allow-origin']).toBe(LOCAL);
    });

    it('gives a real request from another origin no CORS headers', async () => {
      const response = await t.http().get('/api/v1/health/live').set('Origin', STRANGER).expect(200);
      expect(corsHeaders(response.headers)).toEqual([]);
      expect(list(response.headers.vary)).toContain('origin');
    });

    it('leaves requests without Origin as they were: no CORS headers, a bare OPTIONS is the 405 (or 404) problem', async () => {
      const live = await t.http().get('/api/v1/health/live').expect(200);
      expect(corsHeaders(live.headers)).toEqual([]);
      // The preflight route answers no plain OPTIONS, so Allow does not list it.
      const bare = await t.http().options('/api/v1/auth/login').expect(405);
      expect(bare.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(bare.body.code).toBe('METHOD_NOT_ALLOWED');
      expect(bare.headers.allow).toBe('POST');
      expect(corsHeaders(bare.headers)).toEqual([]);
      const nowhere = await t.http().options('/api/v1/nowhere').expect(404);
      expect(nowhere.body.code).toBe('NOT_FOUND');
    });

    it('lets scripts of the configured origins read WWW-Authenticate and Allow', async () => {
      const refused = await t.http().get('/api/v1/users/me').set('Origin', SHOP).expect(401);
      expect(refused.headers['www-authenticate']).toBe('Bearer realm="user-service"');
      expect(list(refused.headers['access-control-expose-headers'])).toEqual(expect.arrayContaining(['www-authenticate', 'allow']));
      const wrongMethod = await t.http().put('/api/v1/users/me').set('Origin', SHOP).expect(405);
      expect(wrongMethod.headers['access-control-allow-origin']).toBe(SHOP);
      expect(wrongMethod.headers.allow).toBe('GET, HEAD, PATCH, DELETE');
    });
  });

  describe('with CORS_ALLOW_CREDENTIALS=true', () => {
    let t: TestApp;
    beforeAll(async () => {
      t = await bootTestApp({ env: { CORS_ORIGINS: SHOP, CORS_ALLOW_CREDENTIALS: 'true', RATE_LIMIT_LOGIN_LIMIT: '2' } });
    });
    afterAll(() => t.close());

    it('sends Access-Control-Allow-Credentials: true on preflights and answers to the configured origin only', async () => {
      const allowed = await preflight(t.http, '/api/v1/users/me', SHOP, 'GET', 'authorization').expect(204);
      expect(allowed.headers['access-control-allow-origin']).toBe(SHOP);
      expect(allowed.headers['access-control-allow-credentials']).toBe('true');
      const answer = await t.http().get('/api/v1/health/live').set('Origin', SHOP).expect(200);
      expect(answer.headers['access-control-allow-credentials']).toBe('true');
      const other = await preflight(t.http, '/api/v1/users/me', STRANGER, 'GET', 'authorization').expect(204);
      expect(other.headers['access-control-allow-origin']).toBeUndefined();
      expect(other.headers['access-control-allow-credentials']).toBeUndefined();
    });

    it('never rate-limits preflights, and a 429 is readable with its Retry-After', async () => {
      for (let i = 0; i < 5; i += 1) await preflight(t.http, '/api/v1/auth/login', SHOP, 'POST', 'content-type').expect(204);
      const login = () => t.http().post('/api/v1/auth/login').set('Origin', SHOP).send({ email: 'nobody@example.com', password: 'Wrong-password-1' });
      await login().expect(401);
      await login().expect(401);
      const limited = await login().expect(429);
      expect(limited.body.code).toBe('RATE_LIMITED');
      expect(limited.headers['retry-after']).toMatch(/^\d+$/);
      expect(limited.headers['access-control-allow-origin']).toBe(SHOP);
      expect(list(limited.headers['access-control-expose-headers'])).toContain('retry-after');
      await preflight(t.http, '/api/v1/auth/login', SHOP, 'POST', 'content-type').expect(204);
    });
  });

  describe('without CORS_ORIGINS', () => {
    let t: TestApp;
    beforeAll(async () => {
      t = await bootTestApp({ env: { CORS_ALLOW_CREDENTIALS: 'true' } });
    });
    afterAll(() => t.close());

    it('sends no CORS headers: a preflight is the 405 problem (nothing answers OPTIONS), a real request gets no Allow-Origin', async () => {
      const refused = await preflight(t.http, '/api/v1/auth/login', SHOP, 'POST', 'content-type').expect(405);
      expect(refused.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(corsHeaders(refused.headers)).toEqual([]);
      const answer = await t.http().get('/api/v1/health/live').set('Origin', SHOP).expect(200);
      expect(corsHeaders(answer.headers)).toEqual([]);
      expect(answer.headers.vary).toBeUndefined();
    });
  });
});
