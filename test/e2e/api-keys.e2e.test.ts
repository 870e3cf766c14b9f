import { createHash, randomBytes } from 'node:crypto';
import { PassThrough, Readable } from 'node:stream';


import { runAdminCli } from '../../src/cli/admin-cli.js';
import { generateApiKey } from '../../src/modules/api-keys/api-key-format.js';
import { buildApiKeyRequest, type CreatedApiKey, createApiKey } from '../factories/api-key.factory.js';
import { type RegisteredUser, registerUser } from '../factories/user.factory.js';
import { bearer, createAdmin, expectProblem } from '../utils/admin.js';
import { waitFor } from '../utils/outbox.js';
import { bootTestApp, createTestDatabase, deleteRedisKeys, describeWithRedis, query, redisUrl, type TestApp } from '../utils/test-app.js';

const MISSING_ID = '00000000-0000-4000-8000-000000000000';
const RATE_LIMIT = 25;
const sha256 = (text: string) => createHash('sha256').update(text).digest();
const withKey = (key: string) => ({ 'X-API-Key': key });


describeWithRedis('Service API keys (e2e, two replicas on one database and one Redis)', () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let prefix: string;
  let a: TestApp;
  let b: TestApp;
  let admin: RegisteredUser;
  let user: RegisteredUser;

  beforeAll(async () => {
    database = await createTestDatabase();
    prefix = `user-service-test:${process.pid}:api-keys-${randomBytes(4).toString('hex')}`;
    const env = { REDIS_KEY_PREFIX: prefix, API_KEY_LAST_USED_FLUSH_SECONDS: '1', API_KEY_RATE_LIMIT: String(RATE_LIMIT) };
    a = await bootTestApp({ databaseUrl: database.url, env });
    b = await bootTestApp({ databaseUrl: database.url, env });
    admin = await createAdmin(a);
    user = await registerUser(a.http);
  });
  afterAll(async () => {
    await a?.close();
    await b?.close();
    await deleteRedisKeys(`${prefix}*`);
    await database.drop();
  });

  const newKey = (overrides: Parameters<typeof buildApiKeyRequest>[0] = {}) => createApiKey(a.http, admin.accessToken, overrides);
  const getUser = (t: TestApp, key: string, id = user.id) => t.http().get(`/api/v1/users/${id}`).set(withKey(key));
  const lookup = (t: TestApp, headers: Record<string, string>, body: unknown) => t.http().post('/api/v1/users/lookup').set(headers).send(body as object);
  const listKeys = async (t: TestApp = a, path = '/api/v1/admin/api-keys?limit=100') =>
    (await t.http().get(path).set(bearer(admin.accessToken)).expect(200)).body as {
      data: Record<string, unknown>[];
      meta: { limit: number; nextCursor: string | null };
    };
  const auditOf = (id: string) =>
    query(database.url, 'SELECT actor_type, actor_id, action, changes_before, changes_after FROM audit_entries WHERE target_id = $1 ORDER BY created_at, id', [id]);

  describe('creation', () => {
    it('answers the whole key once (usk_<8>_<43>), keeps only its SHA-256, and audits the creation', async () => {
      const response = await a
        .http()
        .post('/api/v1/admin/api-keys')
        .set(bearer(admin.accessToken))
        .send({ name: ' order-service ', scopes: ['users:read'], expiresAt: '2099-01-01T00:00:00.000Z' })
        .expect(201);
      const created = response.body as CreatedApiKey;

      expect(Object.keys(created).sort()).toEqual(['createdAt', 'expiresAt', 'id', 'key', 'name', 'prefix', 'scopes']);
      expect(created).toMatchObject({ name: 'order-service', scopes: ['users:read'], expiresAt: '2099-01-01T00:00:00.000Z' });
      expect(created.key).toMatch(/^usk_[a-z0-9]{8}_[A-Za-z0-9_-]{43}$/);
      expect(created.prefix).toMatch(/^usk_[a-z0-9]{8}$/);
      expect(created.key.startsWith(`${created.prefix}_`)).toBe(true);

      const [row] = await query(database.url, 'SELECT * FROM api_keys WHERE id = $1', [created.id]);
      expect(row).toMatchObject({ name: 'order-service', scopes: ['users:read'], prefix: created.prefix, created_by: admin.id, revoked_at: null, last_used_at: null });
      expect(row!.secret_hash).toEqual(sha256(created.key));
      const secret = created.key.slice(created.prefix.length + 1);
      const stored = JSON.stringify(Object.values(row!).map((value) => (Buffer.isBuffer(value) ? value.toString('base64url') : value)));
      expect(stored).not.toContain(secret);
      expect(stored).not.toContain(created.key);

      // Never shown again.
      const listed = (await listKeys()).data.find((key) => key.id === created.id)!;
      expect(listed).toEqual({
        id: created.id,
        name: 'order-service',
        scopes: ['users:read'],
        prefix: created.prefix,
        createdAt: created.createdAt,
        createdBy: admin.id,
        expiresAt: '2099-01-01T00:00:00.000Z',
        revokedAt: null,
        lastUsedAt: null,
      });
      expect(JSON.stringify(await listKeys())).not.toContain(secret);

      expect(await auditOf(created.id)).toEqual([
        {
          actor_type: 'user',
          actor_id: admin.id,
          action: 'api_key.created',
          changes_before: null,
          changes_after: { name: 'order-service', scopes: ['users:read'], prefix: created.prefix, expiresAt: '2099-01-01T00:00:00.000Z' },
        },
      ]);
    });

    it('refuses bad bodies with field errors, and non-admins', async () => {
      const post = (body: object, token = admin.accessToken) => a.http().post('/api/v1/admin/api-keys').set(bearer(token)).send(body);
      expectProblem(await post({ scopes: ['users:read'] }), 400, 'VALIDATION_FAILED', ['name']);
      expectProblem(await post({ name: 'x', scopes: [] }), 400, 'VALIDATION_FAILED', ['scopes']);
      expectProblem(await post({ name: 'x', scopes: ['users:write'] }), 400, 'VALIDATION_FAILED', ['scopes']);
      expectProblem(await post({ name: 'x', scopes: ['users:read'], expiresAt: '2020-01-01T00:00:00Z' }), 400, 'VALIDATION_FAILED', ['expiresAt']);
      expectProblem(await post({ name: 'x', scopes: ['users:read'], expiresAt: 'tomorrow' }), 400, 'VALIDATION_FAILED', ['expiresAt']);
      expectProblem(await post({ name: 'x', scopes: ['users:read'], key: 'usk_mine' }), 400, 'VALIDATION_FAILED', ['key']);
      expectProblem(await post(buildApiKeyRequest(), user.accessToken), 403, 'FORBIDDEN');
      expectProblem(await a.http().post('/api/v1/admin/api-keys').send(buildApiKeyRequest()), 401, 'UNAUTHENTICATED');
      expectProblem(await a.http().get('/api/v1/admin/api-keys').set(bearer(user.accessToken)), 403, 'FORBIDDEN');
      expectProblem(await a.http().delete(`/api/v1/admin/api-keys/${MISSING_ID}`).set(bearer(user.accessToken)), 403, 'FORBIDDEN');
    });
  });

  describe('where a key is accepted', () => {
    let key: CreatedApiKey;
    beforeAll(async () => {
      key = await newKey();
    });

    it('GET /users/:id: any existing user on either replica, 404 for an unknown id', async () => {
      for (const t of [a, b]) {
        const response = await getUser(t, key.key).expect(200);
        expect(response.body).toMatchObject({ id: user.id, email: user.email });
        expect(response.body).not.toHaveProperty('passwordHash');
        expect((await getUser(t, key.key, admin.id).expect(200)).body.id).toBe(admin.id);
        expectProblem(await getUser(t, key.key, MISSING_ID), 404, 'USER_NOT_FOUND');
        expectProblem(await getUser(t, key.key, 'not-a-uuid'), 400, 'VALIDATION_FAILED');
      }
    });

    it('POST /users/lookup: the users found, in request order, for a key and for an admin; a plain user gets 403', async () => {
      const body = { ids: [admin.id, MISSING_ID, user.id, admin.id] };
      for (const headers of [withKey(key.key), bearer(admin.accessToken)]) {
        const response = await lookup(b, headers, body).expect(200);
        expect(response.body.data.map((found: { id: string }) => found.id)).toEqual([admin.id, user.id, admin.id]);
        expect(response.body.data[1]).toMatchObject({ id: user.id, email: user.email, role: 'user', status: 'active' });
      }
      expectProblem(await lookup(a, bearer(user.accessToken), body), 403, 'FORBIDDEN');
      expectProblem(await lookup(a, {}, body), 401, 'UNAUTHENTICATED');
    });

    it('POST /users/lookup validates ids: 1 to 100 UUIDs, nothing else', async () => {
      const headers = withKey(key.key);
      const ids = (n: number) => Array.from({ length: n }, () => MISSING_ID);
      expect((await lookup(a, headers, { ids: ids(100) }).expect(200)).body).toEqual({ data: [] });
      for (const body of [{}, { ids: [] }, { ids: ids(101) }, { ids: ['nope'] }, { ids: 'x' }]) {
        expectProblem(await lookup(a, headers, body), 400, 'VALIDATION_FAILED', ['ids']);
      }
      expectProblem(await lookup(a, headers, { ids: [user.id], extra: 1 }), 400, 'VALIDATION_FAILED', ['extra']);
    });

    it.each([
      ['GET', '/api/v1/users/me'],
      ['PATCH', '/api/v1/users/me'],
      ['GET', '/api/v1/users/me/preferences'],
      ['GET', '/api/v1/auth/sessions'],
      ['POST', '/api/v1/auth/logout'],
      ['GET', '/api/v1/admin/users'],
      ['GET', '/api/v1/admin/api-keys'],
      ['DELETE', `/api/v1/admin/api-keys/${MISSING_ID}`],
    ])('is refused on %s %s with 401 (API keys are for the two internal routes only)', async (method, path) => {
      const agent = a.http();
      const request = method === 'GET' ? agent.get(path) : method === 'PATCH' ? agent.patch(path).send({ name: 'Service' }) : method === 'POST' ? agent.post(path) : agent.delete(path);
      expectProblem(await request.set(withKey(key.key)), 401, 'UNAUTHENTICATED');
    });

    it('leaves a valid access token in charge when both headers come', async () => {
      const response = await a.http().get('/api/v1/users/me').set({ ...bearer(user.accessToken), ...withKey(key.key) }).expect(200);
      expect(response.body.id).toBe(user.id);
      // With a Bearer token, a user still sees only themselves on GET /users/:id.
      expectProblem(await a.http().get(`/api/v1/users/${admin.id}`).set({ ...bearer(user.accessToken), ...withKey(key.key) }), 404, 'USER_NOT_FOUND');
    });

    it('checks a key from the shared Redis cache, not with a query per request', async () => {
      const cached = await newKey();
      await getUser(a, cached.key).expect(200);
      // The database no longer knows the key; the replicas answer from the cache (a short TTL) all the same.
      await query(database.url, 'UPDATE api_keys SET secret_hash = $2 WHERE id = $1', [cached.id, sha256(generateApiKey().key)]);
      await getUser(a, cached.key).expect(200);
      await lookup(b, withKey(cached.key), { ids: [user.id] }).expect(200);
    });

    it('refuses unknown and malformed keys with 401', async () => {
      for (const bad of [generateApiKey().key, key.key.slice(0, -1), `${key.key.slice(0, -1)}${key.key.endsWith('A') ? 'B' : 'A'}`, 'secret', '']) {
        expectProblem(await getUser(a, bad), 401, 'UNAUTHENTICATED');
      }
    });

    it('refuses a key without the route scope with 403', async () => {
      // A scope this service does not grant on the route (no such key can be made through the API, where users:read is the only scope).
      const foreign = generateApiKey();
      await query(database.url, "INSERT INTO api_keys (name, scopes, prefix, secret_hash) VALUES ('legacy', ARRAY['orders:read'], $1, $2)", [
        foreign.prefix,
        foreign.secretHash,
      ]);
      expectProblem(await getUser(a, foreign.key), 403, 'FORBIDDEN');
      expectProblem(await lookup(b, withKey(foreign.key), { ids: [user.id] }), 403, 'FORBIDDEN');
    });
  });

  describe('revocation', () => {
    it('refuses the key at once on both replicas (each had it cached), audits once, and is idempotent', async () => {
      const key = await newKey();
      await getUser(a, key.key).expect(200);
      await getUser(b, key.key).expect(200);
      await lookup(b, withKey(key.key), { ids: [user.id] }).expect(200);

      await a.http().delete(`/api/v1/admin/api-keys/${key.id}`).set(bearer(admin.accessToken)).expect(204);

      expectProblem(await getUser(a, key.key), 401, 'UNAUTHENTICATED');
      expectProblem(await getUser(b, key.key), 401, 'UNAUTHENTICATED');
      expectProblem(await lookup(b, withKey(key.key), { ids: [user.id] }), 401, 'UNAUTHENTICATED');

      await b.http().delete(`/api/v1/admin/api-keys/${key.id}`).set(bearer(admin.accessToken)).expect(204);
      const [row] = await query(database.url, 'SELECT revoked_at FROM api_keys WHERE id = $1', [key.id]);
      const listed = (await listKeys(b)).data.find((k) => k.id === key.id)!;
      expect(listed.revokedAt).toBe((row!.revoked_at as Date).toISOString());
      const audit = await auditOf(key.id);
      expect(audit.map((entry) => entry.action)).toEqual(['api_key.created', 'api_key.revoked']);
      expect(audit[1]).toMatchObject({ actor_type: 'user', actor_id: admin.id, changes_before: { revokedAt: null }, changes_after: { name: key.name, prefix: key.prefix } });
    });

    it('answers 404 for an unknown key and 400 for an id that is not a UUID', async () => {
      expectProblem(await a.http().delete(`/api/v1/admin/api-keys/${MISSING_ID}`).set(bearer(admin.accessToken)), 404, 'API_KEY_NOT_FOUND');
      expectProblem(await a.http().delete('/api/v1/admin/api-keys/nope').set(bearer(admin.accessToken)), 400, 'VALIDATION_FAILED');
    });
  });

  it('refuses a key once its expiresAt has passed, though the replicas had it cached', async () => {
    const key = await newKey({ expiresAt: new Date(Date.now() + 1_500).toISOString() });
    await getUser(a, key.key).expect(200);
    await getUser(b, key.key).expect(200);

    await new Promise((resolve) => setTimeout(resolve, 1_600));

    expectProblem(await getUser(a, key.key), 401, 'UNAUTHENTICATED');
    expectProblem(await getUser(b, key.key), 401, 'UNAUTHENTICATED');
  });

  it('lists keys newest first, keyset-paged, with lastUsedAt once the replicas have flushed their uses', async () => {
    const keys = [await newKey(), await newKey(), await newKey()];
    const page1 = await listKeys(a, '/api/v1/admin/api-keys?limit=2');
    expect(page1.data.map((k) => k.id)).toEqual([keys[2]!.id, keys[1]!.id]);
    expect(page1.meta).toEqual({ limit: 2, nextCursor: expect.any(String) });
    const page2 = await listKeys(a, `/api/v1/admin/api-keys?limit=2&cursor=${encodeURIComponent(page1.meta.nextCursor!)}`);
    expect(page2.data[0]!.id).toBe(keys[0]!.id);
    expectProblem(await a.http().get('/api/v1/admin/api-keys?cursor=forged.cursor').set(bearer(admin.accessToken)), 400, 'VALIDATION_FAILED', ['cursor']);
    expectProblem(await a.http().get('/api/v1/admin/api-keys?limit=101').set(bearer(admin.accessToken)), 400, 'VALIDATION_FAILED', ['limit']);

    const before = Date.now();
    await getUser(a, keys[0]!.key).expect(200);
    await lookup(b, withKey(keys[1]!.key), { ids: [user.id] }).expect(200);
    expect(page1.data.every((k) => k.lastUsedAt === null)).toBe(true);

    const used = await waitFor(async () => {
      const listed = (await listKeys()).data.filter((k) => k.id === keys[0]!.id || k.id === keys[1]!.id);
      return listed.every((k) => k.lastUsedAt !== null) && listed;
    }, 5_000);
    for (const k of used) expect(Date.parse(k.lastUsedAt as string)).toBeGreaterThanOrEqual(before - 1_000);
    expect((await listKeys()).data.find((k) => k.id === keys[2]!.id)!.lastUsedAt).toBeNull();
  });

  it(`limits each key to API_KEY_RATE_LIMIT (${RATE_LIMIT}) requests a minute across both replicas and routes: 429 with Retry-After`, async () => {
    const key = await newKey();
    const other = await newKey();
    for (let i = 0; i < RATE_LIMIT; i += 1) {
      const response = i % 2 ? await getUser(i % 4 === 1 ? a : b, key.key) : await lookup(i % 4 === 0 ? a : b, withKey(key.key), { ids: [user.id] });
      expect(response.status).toBe(200);
    }
    const limited = await getUser(b, key.key);
    expectProblem(limited, 429, 'RATE_LIMITED');
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
    expectProblem(await lookup(a, withKey(key.key), { ids: [user.id] }), 429, 'RATE_LIMITED');

    // Another key, and an admin's own calls, are not held back.
    await getUser(a, other.key).expect(200);
    await lookup(a, bearer(admin.accessToken), { ids: [user.id] }).expect(200);
  });

  it('documents the apiKey scheme, the two routes that take it, and the admin routes', async () => {
    const document = (await a.http().get('/docs-json').expect(200)).body as {
      components: { securitySchemes: Record<string, unknown> };
      paths: Record<string, Record<string, { security?: Record<string, unknown>[]; responses: Record<string, unknown> }>>;
    };
    expect(document.components.securitySchemes.apiKey).toMatchObject({ type: 'apiKey', in: 'header', name: 'X-API-Key' });
    for (const [path, method] of [
      ['/api/v1/users/{id}', 'get'],
      ['/api/v1/users/lookup', 'post'],
    ] as const) {
      const operation = document.paths[path]![method]!;
      expect(operation.security).toEqual([{ bearer: [] }, { apiKey: [] }]);
      expect(Object.keys(operation.responses)).toEqual(expect.arrayContaining(['200', '400', '401', '403', '429']));
    }
    expect(document.paths['/api/v1/users/me']!.get!.security).not.toContainEqual({ apiKey: [] });
    const admin = document.paths['/api/v1/admin/api-keys']!;
    expect(Object.keys(admin.post!.responses)).toEqual(expect.arrayContaining(['201', '400', '401', '403']));
    expect(Object.keys(admin.get!.responses)).toEqual(expect.arrayContaining(['200', '400', '401', '403']));
    expect(Object.keys(document.paths['/api/v1/admin/api-keys/{id}']!.delete!.responses)).toEqual(
      expect.arrayContaining(['204', '400', '401', '403', '404']),
    );
  });

  describe('operators CLI', () => {
    /** Runs the CLI in-process on the replicas' database and Redis, as an operator would with the service's environment. */
    async function cli(args: string[]) {
      const stdout = new PassThrough();
      const stderr = new PassThrough();
      let out = '';
      let err = '';
      stdout.on('data', (chunk) => (out += String(chunk)));
      stderr.on('data', (chunk) => (err += String(chunk)));
      const env = {
        NODE_ENV: 'test',
        DATABASE_URL: database.url,
        REDIS_URL: redisUrl(),
        REDIS_KEY_PREFIX: prefix,
        JWT_PRIVATE_KEY: process.env.TEST_JWT_PRIVATE_KEY,
        JWT_PUBLIC_KEY: process.env.TEST_JWT_PUBLIC_KEY,
        BCRYPT_COST: '4',
        LOG_LEVEL: 'silent',
      };
      const code = await runAdminCli(args, { env, stdin: Readable.from(['']), stdout, stderr });
      return { code, out, err };
    }

    it('api-keys create prints the key once, list shows it without the key, revoke stops it at once; audited as cli', async () => {
      const created = await cli(['api-keys', 'create', '--name', 'billing-service', '--scopes', 'users:read', '--expires-at', '2099-06-30T00:00:00Z']);
      expect(created).toMatchObject({ code: 0, err: '' });
      const lines = created.out.trim().split('\n');
      const key = lines.at(-1)!;
      expect(key).toMatch(/^usk_[a-z0-9]{8}_[A-Za-z0-9_-]{43}$/);
      const id = /created API key ([0-9a-f-]{36}) "billing-service" \(users:read; expires 2099-06-30T00:00:00.000Z\)/.exec(lines[0]!)?.[1];
      expect(id).toBeDefined();
      const [row] = await query(database.url, 'SELECT created_by, secret_hash FROM api_keys WHERE id = $1', [id]);
      expect(row).toEqual({ created_by: null, secret_hash: sha256(key) });
      await getUser(a, key).expect(200);
      await getUser(b, key).expect(200);

      const listed = await cli(['api-keys', 'list']);
      expect(listed.code).toBe(0);
      const line = listed.out.split('\n').find((l) => l.startsWith(id!))!;
      expect(line).toContain(`${key.slice(0, 12)}  active  users:read`);
      expect(line).toContain('"billing-service"');
      expect(listed.out).not.toContain(key);

      const revoked = await cli(['api-keys', 'revoke', '--id', id!]);
      expect(revoked).toMatchObject({ code: 0, out: `revoked API key ${id}\n` });
      expectProblem(await getUser(a, key), 401, 'UNAUTHENTICATED');
      expectProblem(await getUser(b, key), 401, 'UNAUTHENTICATED');
      expect((await cli(['api-keys', 'list'])).out.split('\n').find((l) => l.startsWith(id!))).toContain('  revoked  ');

      expect((await auditOf(id!)).map((entry) => [entry.actor_type, entry.actor_id, entry.action])).toEqual([
        ['cli', null, 'api_key.created'],
        ['cli', null, 'api_key.revoked'],
      ]);
    });

    it('answers bad input clearly', async () => {
      const noScope = await cli(['api-keys', 'create', '--name', 'x']);
      expect(noScope.code).toBe(2);
      expect(noScope.err).toMatch(/--name and --scopes are required[\s\S]*usage:/);
      const badScope = await cli(['api-keys', 'create', '--name', 'x', '--scopes', 'users:write']);
      expect(badScope.code).toBe(1);
      expect(badScope.err).toMatch(/^VALIDATION_FAILED: .*scopes must hold only users:read/);
      expect((await cli(['api-keys', 'revoke', '--id', MISSING_ID])).err).toMatch(/^API_KEY_NOT_FOUND/);
      expect((await cli(['api-keys', 'revoke', '--id', 'nope'])).code).toBe(2);
      expect((await cli(['api-keys', 'rotate'])).err).toMatch(/unknown api-keys command rotate/);
    });
  });
});
