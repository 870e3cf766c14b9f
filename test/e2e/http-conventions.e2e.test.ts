import { buildRegistration, registerUser } from '../factories/user.factory.js';
import { expectProblem } from '../utils/admin.js';
import { bootTestApp, query, type TestApp } from '../utils/test-app.js';

describe('HTTP conventions (e2e)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await bootTestApp({ env: { BODY_LIMIT_BYTES: '2048' } });
  });
  afterAll(() => t.close());

  it('echoes a caller X-Correlation-ID, generates one otherwise, and puts it in error bodies', async () => {
    const echoed = await t.http().get('/api/v1/health/live').set('X-Correlation-ID', 'abc-123').expect(200);
    expect(echoed.headers['x-correlation-id']).toBe('abc-123');
    const generated = await t.http().get('/api/v1/users/me').expect(401);
    expect(generated.headers['x-correlation-id']).toMatch(/^[0-9a-f-]{36}$/);
    expect(generated.body.correlationId).toBe(generated.headers['x-correlation-id']);
    const unsafe = await t.http().get('/api/v1/health/live').set('X-Correlation-ID', 'line\tbreak').expect(200);
    expect(unsafe.headers['x-correlation-id']).toMatch(/^[0-9a-f-]{36}$/);
  });

  it.each([
    ['unknown route', () => t.http().get('/api/v1/nowhere'), 404, 'NOT_FOUND'],
    ['unreadable JSON', () => t.http().post('/api/v1/auth/login').set('Content-Type', 'application/json').send('{"email":'), 400, 'MALFORMED_REQUEST'],
    ['non-JSON body', () => t.http().post('/api/v1/auth/login').set('Content-Type', 'text/plain').send('hello'), 415, 'UNSUPPORTED_MEDIA_TYPE'],
    ['body over the limit', () => t.http().post('/api/v1/auth/login').send({ email: 'a@b.co', password: 'x'.repeat(4000) }), 413, 'PAYLOAD_TOO_LARGE'],
    ['JSON array body', () => t.http().post('/api/v1/auth/login').send([1, 2]), 400, 'VALIDATION_FAILED'],
    ['missing body', () => t.http().post('/api/v1/auth/login'), 400, 'VALIDATION_FAILED'],
  ])('%s is problem+json %i %s, with no internals', async (_label, call, status, code) => {
    const response = await call().expect(status);
    expectProblem(response, status, code);
    expect(JSON.stringify(response.body)).not.toMatch(/Fastify|FST_|stack|at \/|SQL|typeorm/i);
  });

  it.each(['/', '/api/v1'])('GET %s is an index of where everything is, every link answering', async (path) => {
    const index = await t.http().get(path).expect(200);
    expect(index.body).toMatchObject({ name: 'user-service', version: expect.stringMatching(/^\d+\.\d+\.\d+/) });
    for (const link of Object.values(index.body.links as Record<string, string>)) {
      const answer = await t.http().get(link);
      expect([link, answer.status]).toEqual([link, 200]);
    }
  });

  it('API answers are not cacheable', async () => {
    const user = await registerUser(t.http);
    const response = await t.http().get('/api/v1/users/me').set('Authorization', `Bearer ${user.accessToken}`).expect(200);
    expect(response.headers['cache-control']).toBe('no-store');
    expect(response.headers['x-content-type-options']).toBe('nosniff');
  });

  describe('Idempotency-Key on POST /auth/register', () => {
    it('replays the first answer for the same key and body, without creating anything again', async () => {
      const body = buildRegistration();
      const first = await t.http().post('/api/v1/auth/register').set('Idempotency-Key', 'key-replay-1').send(body).expect(201);
      const second = await t.http().post('/api/v1/auth/register').set('Idempotency-Key', 'key-replay-1').send(body).expect(201);
      expect(second.body).toEqual(first.body);
      expect(await query(t.databaseUrl, 'SELECT id FROM users WHERE email = $1', [body.email])).toHaveLength(1);
      expect(await query(t.databaseUrl, 'SELECT id FROM sessions WHERE user_id = $1', [first.body.user.id])).toHaveLength(1);
      // Stored sealed: no token appears in the table in clear.
      const [stored] = await query<{ response: Buffer }>(t.databaseUrl, "SELECT response FROM idempotency_keys WHERE key = 'key-replay-1'");
      expect(stored.response.toString('latin1')).not.toContain(first.body.refreshToken);
    });

    it('same key with another body is 409 IDEMPOTENCY_KEY_REUSED', async () => {
      const body = buildRegistration();
      await t.http().post('/api/v1/auth/register').set('Idempotency-Key', 'key-reuse-1').send(body).expect(201);
      const response = await t
        .http()
        .post('/api/v1/auth/register')
        .set('Idempotency-Key', 'key-reuse-1')
        .send({ ...body, name: 'Someone Else' })
        .expect(409);
      expect(response.body.code).toBe('IDEMPOTENCY_KEY_REUSED');
    });

    it('concurrent repeats do the work once and all get the first answer', async () => {
      const body = buildRegistration();
      const answers = await Promise.all(
        Array.from({ length: 4 }, () => t.http().post('/api/v1/auth/register').set('Idempotency-Key', 'key-race-1').send(body)),
      );
      expect(answers.map((a) => a.status)).toEqual([201, 201, 201, 201]);
      expect(new Set(answers.map((a) => a.body.user.id)).size).toBe(1);
      expect(await query(t.databaseUrl, 'SELECT id FROM users WHERE email = $1', [body.email])).toHaveLength(1);
    });

    it('a failed first attempt is not remembered, and an expired key starts afresh', async () => {
      const taken = await registerUser(t.http);
      const body = buildRegistration({ email: taken.email });
      await t.http().post('/api/v1/auth/register').set('Idempotency-Key', 'key-failed-1').send(body).expect(409);
      expect(await query(t.databaseUrl, "SELECT 1 FROM idempotency_keys WHERE key = 'key-failed-1'")).toHaveLength(0);

      const fresh = buildRegistration();
      await t.http().post('/api/v1/auth/register').set('Idempotency-Key', 'key-expired-1').send(fresh).expect(201);
      await query(t.databaseUrl, "UPDATE idempotency_keys SET expires_at = now() - interval '1 second' WHERE key = 'key-expired-1'");
      const again = await t.http().post('/api/v1/auth/register').set('Idempotency-Key', 'key-expired-1').send(fresh).expect(409);
      expect(again.body.code).toBe('EMAIL_TAKEN');
    });

    it('prunes expired keys', async () => {
      const { IdempotencyService } = await import('../../src/core/idempotency/idempotency.service.js');
      await t.http().post('/api/v1/auth/register').set('Idempotency-Key', 'key-prune-1').send(buildRegistration()).expect(201);
      await t.http().post('/api/v1/auth/register').set('Idempotency-Key', 'key-prune-2').send(buildRegistration()).expect(201);
      await query(t.databaseUrl, "UPDATE idempotency_keys SET expires_at = now() - interval '1 second' WHERE key = 'key-prune-1'");
      expect(await t.app.get(IdempotencyService).pruneExpired()).toBeGreaterThanOrEqual(1);
      const left = await query(t.databaseUrl, "SELECT key FROM idempotency_keys WHERE key LIKE 'key-prune-%'");
      expect(left).toEqual([{ key: 'key-prune-2' }]);
    });

    it('rejects an unusable key', async () => {
      const response = await t.http().post('/api/v1/auth/register').set('Idempotency-Key', 'x'.repeat(300)).send(buildRegistration()).expect(400);
      expect(response.body.errors).toEqual([{ field: 'Idempotency-Key', message: expect.any(String) }]);
    });
  });

  it('serves the OpenAPI document with every route, the bearer scheme and problem+json errors', async () => {
    await t.http().get('/docs').expect(200);
    const { body } = await t.http().get('/docs-json').expect(200);
    const operations = Object.entries(body.paths).flatMap(([path, methods]) =>
      Object.keys(methods as object).map((method) => `${method.toUpperCase()} ${path}`),
    );
    expect(operations).toEqual(
      expect.arrayContaining([
        'POST /api/v1/auth/register',
        'POST /api/v1/auth/login',
        'POST /api/v1/auth/refresh',
        'POST /api/v1/auth/logout',
        'POST /api/v1/auth/logout-all',
        'GET /api/v1/auth/sessions',
        'DELETE /api/v1/auth/sessions/{id}',
        'GET /api/v1/users/me',
        'PATCH /api/v1/users/me',
        'GET /api/v1/users/{id}',
        'GET /api/v1/health/live',
        'GET /api/v1/health/ready',
        'GET /metrics',
        'GET /.well-known/jwks.json',
      ]),
    );
    expect(body.components.securitySchemes.bearer).toMatchObject({ type: 'http', scheme: 'bearer' });
    const login = body.paths['/api/v1/auth/login'].post;
    expect(login.requestBody.content['application/json'].schema.$ref).toBe('#/components/schemas/LoginDto');
    expect(login.responses['401'].content['application/problem+json'].example.code).toBe('INVALID_CREDENTIALS');
    expect(Object.keys(login.responses)).toEqual(expect.arrayContaining(['200', '400', '401', '403', '413', '429', '500']));
    expect(body.paths['/api/v1/users/me'].get.security).toEqual([{ bearer: [] }]);
  });

  it('documents every admin route with its parameters, bodies, 401/403 and each error code as an example', async () => {
    const { body } = await t.http().get('/docs-json').expect(200);
    const admin = {
      'GET /api/v1/admin/users': ['limit', 'cursor', 'status', 'role', 'q'],
      'POST /api/v1/admin/users': ['Idempotency-Key'],
      'GET /api/v1/admin/users/{id}': ['id'],
      'PATCH /api/v1/admin/users/{id}/status': ['id'],
      'PATCH /api/v1/admin/users/{id}/role': ['id'],
      'GET /api/v1/admin/users/{id}/sessions': ['id'],
      'DELETE /api/v1/admin/users/{id}/sessions': ['id'],
      'GET /api/v1/admin/stats': [],
      'GET /api/v1/admin/audit-log': ['limit', 'cursor', 'actorId', 'targetId', 'action'],
    };
    for (const [operation, parameters] of Object.entries(admin)) {
      const [method, path] = operation.split(' ') as [string, string];
      const documented = body.paths[path]?.[method.toLowerCase()];
      expect({ operation, found: Boolean(documented) }).toEqual({ operation, found: true });
      expect(documented.security).toEqual([{ bearer: [] }]);
      expect(documented.tags).toEqual(['Admin']);
      expect((documented.parameters ?? []).map((p: { name: string }) => p.name).sort()).toEqual([...parameters].sort());
      for (const status of ['401', '403']) {
        expect(documented.responses[status].content['application/problem+json'].example.code).toBe(
          status === '401' ? 'UNAUTHENTICATED' : 'FORBIDDEN',
        );
      }
    }
    const status = body.paths['/api/v1/admin/users/{id}/status'].patch;
    expect(status.requestBody.content['application/json'].schema.$ref).toBe('#/components/schemas/ChangeStatusDto');
    expect(Object.keys(status.responses['409'].content['application/problem+json'].examples)).toEqual([
      'SELF_CHANGE_FORBIDDEN',
      'LAST_ADMIN',
      'USER_DEACTIVATED',
    ]);
    expect(body.components.schemas.ChangeStatusDto.properties.status.enum).toEqual(['active', 'blocked', 'suspended']);
    expect(body.paths['/api/v1/admin/users'].get.responses['200'].content['application/json'].schema.$ref).toBe(
      '#/components/schemas/AdminUserPage',
    );
    expect(body.components.schemas.PageMeta.required).toEqual(['limit', 'nextCursor']);
  });

  it('exposes Prometheus metrics by route and status, and login outcomes', async () => {
    await t.http().post('/api/v1/auth/login').send({ email: 'nobody@example.com', password: 'Whatever-123' }).expect(401);
    const { text } = await t.http().get('/metrics').expect(200);
    expect(text).toMatch(/http_request_duration_seconds_count\{method="POST",route="\/api\/v1\/auth\/login",status_code="401"\} 1\n/);
    expect(text).toMatch(/http_request_duration_seconds_bucket\{le="0.005",method="POST",route="\/api\/v1\/auth\/login",status_code="401"\}/);
    expect(text).toMatch(/auth_login_total\{outcome="invalid_credentials"\} \d+/);
    expect(text).toMatch(/process_resident_memory_bytes \d+/);
  });
});

describe('Rate limits (e2e)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await bootTestApp({
      env: {
        RATE_LIMIT_LOGIN_LIMIT: '1000',
        RATE_LIMIT_REGISTER_LIMIT: '2',
        RATE_LIMIT_REFRESH_LIMIT: '2',
      },
    });
  });
  afterAll(() => t.close());

  it('limits registration per client with 429 RATE_LIMITED and Retry-After', async () => {
    await t.http().post('/api/v1/auth/register').send(buildRegistration()).expect(201);
    await t.http().post('/api/v1/auth/register').send(buildRegistration()).expect(201);
    const limited = await t.http().post('/api/v1/auth/register').send(buildRegistration()).expect(429);
    expect(limited.body.code).toBe('RATE_LIMITED');
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
  });

  it('limits refresh per client', async () => {
    await t.http().post('/api/v1/auth/refresh').send({ refreshToken: 'a' }).expect(401);
    await t.http().post('/api/v1/auth/refresh').send({ refreshToken: 'b' }).expect(401);
    await t.http().post('/api/v1/auth/refresh').send({ refreshToken: 'c' }).expect(429);
  });
});
