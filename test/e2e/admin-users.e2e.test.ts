import { AdminService } from '../../src/modules/admin/admin.service.js';
import { buildRegistration, registerUser } from '../factories/user.factory.js';
import { bearer, bootstrapAdminEnv, claimsOf, createAdmin, expectProblem, signIn, signInAsAdmin } from '../utils/admin.js';
import { outboxEvents } from '../utils/outbox.js';
import { bootTestApp, query, type TestApp } from '../utils/test-app.js';

const MISSING_ID = '00000000-0000-4000-8000-000000000000';

describe('Admin: access, users, creation and stats (e2e)', () => {
  let t: TestApp;
  let admin: Awaited<ReturnType<typeof signInAsAdmin>>;
  beforeAll(async () => {
    t = await bootTestApp({ env: bootstrapAdminEnv() });
    admin = await signInAsAdmin(t);
  });
  afterAll(() => t.close());

  describe('every admin route needs an admin', () => {
    // [method, path (':id' is the target user), body]
    const routes: [string, string, object | undefined][] = [
      ['GET', '/api/v1/admin/users', undefined],
      ['POST', '/api/v1/admin/users', { ...buildRegistration(), role: 'admin' }],
      ['GET', '/api/v1/admin/users/:id', undefined],
      ['PATCH', '/api/v1/admin/users/:id/status', { status: 'blocked', reason: 'no' }],
      ['PATCH', '/api/v1/admin/users/:id/role', { role: 'admin' }],
      ['GET', '/api/v1/admin/users/:id/sessions', undefined],
      ['DELETE', '/api/v1/admin/users/:id/sessions', undefined],
      ['GET', '/api/v1/admin/stats', undefined],
      ['GET', '/api/v1/admin/audit-log', undefined],
    ];
    const call = (method: string, route: string, targetId: string, body: object | undefined, authorization?: string) => {
      const agent = t.http();
      const path = route.replace(':id', targetId);
      let req = method === 'GET' ? agent.get(path) : method === 'POST' ? agent.post(path) : method === 'PATCH' ? agent.patch(path) : agent.delete(path);
      if (authorization) req = req.set('Authorization', authorization);
      return body ? req.send(body) : req;
    };

    it.each(routes)('%s %s: 401 without or with an invalid token', async (method, path, body) => {
      const user = await registerUser(t.http);
      const [header, , signature] = user.accessToken.split('.');
      const forgedAdmin = Buffer.from(JSON.stringify({ ...claimsOf(user.accessToken), role: 'admin' })).toString('base64url');
      for (const authorization of [
        undefined,
        'Bearer not.a.jwt',
        `Basic ${admin.accessToken}`,
        `Bearer ${admin.accessToken}x`,
        // A user's token with role admin written into it: the signature no longer matches.
        `Bearer ${header}.${forgedAdmin}.${signature}`,
      ]) {
        expectProblem(await call(method, path, user.id, body, authorization), 401, 'UNAUTHENTICATED');
      }
    });

    it.each(routes)("%s %s: 403 FORBIDDEN with a plain user's token, changing nothing", async (method, path, body) => {
      const user = await registerUser(t.http);
      expectProblem(await call(method, path, user.id, body, `Bearer ${user.accessToken}`), 403, 'FORBIDDEN');
      const [row] = await query(t.databaseUrl, 'SELECT role, status FROM users WHERE id = $1', [user.id]);
      expect(row).toEqual({ role: 'user', status: 'active' });
      // Its session is untouched (DELETE .../sessions was refused).
      await t.http().get('/api/v1/users/me').set(bearer(user.accessToken)).expect(200);
      if (method === 'POST') expect(await query(t.databaseUrl, 'SELECT 1 FROM users WHERE email = $1', [(body as { email: string }).email])).toHaveLength(0);
    });
  });

  describe('GET /admin/users/:id', () => {
    it('returns the user with the reason and end of its status, never a hash', async () => {
      const user = await registerUser(t.http, { mobile: '+447911123456' });
      const response = await t.http().get(`/api/v1/admin/users/${user.id}`).set(bearer(admin.accessToken)).expect(200);
      expect(response.body).toEqual({
        id: user.id,
        email: user.email,
        name: expect.any(String),
        mobile: '+447911123456',
        role: 'user',
        status: 'active',
        statusReason: null,
        statusUntil: null,
        emailVerified: false,
        createdAt: expect.any(String),
        updatedAt: expect.any(String),
      });
      const until = new Date(Date.now() + 86_400_000).toISOString();
      await t.http().patch(`/api/v1/admin/users/${user.id}/status`).set(bearer(admin.accessToken)).send({ status: 'suspended', reason: 'Spam', until }).expect(200);
      const suspended = await t.http().get(`/api/v1/admin/users/${user.id}`).set(bearer(admin.accessToken)).expect(200);
      expect(suspended.body).toMatchObject({ status: 'suspended', statusReason: 'Spam', statusUntil: until });
      expect(JSON.stringify(suspended.body)).not.toMatch(/password|hash|\$2[aby]\$/i);
    });

    it('is 404 USER_NOT_FOUND for an unknown id and 400 for a bad one', async () => {
      expectProblem(await t.http().get(`/api/v1/admin/users/${MISSING_ID}`).set(bearer(admin.accessToken)), 404, 'USER_NOT_FOUND');
      for (const bad of ['not-a-uuid', '123', `${MISSING_ID}0`]) {
        expectProblem(await t.http().get(`/api/v1/admin/users/${bad}`).set(bearer(admin.accessToken)), 400, 'VALIDATION_FAILED', ['id']);
      }
    });
  });

  describe('POST /admin/users', () => {
    const create = (body: object, key?: string, token = admin.accessToken) => {
      const req = t.http().post('/api/v1/admin/users').set(bearer(token));
      return (key ? req.set('Idempotency-Key', key) : req).send(body);
    };

    it('creates an active account with the role given; it gets user.created and a verification mail, and can sign in', async () => {
      const body = { ...buildRegistration({ email: '  New.Admin@Example.COM ' }), role: 'admin' };
      const response = await create(body).expect(201);
      expect(response.body).toEqual({
        id: expect.any(String),
        email: 'new.admin@example.com',
        name: body.name,
        mobile: null,
        role: 'admin',
        status: 'active',
        statusReason: null,
        statusUntil: null,
        emailVerified: false,
        createdAt: expect.any(String),
        updatedAt: expect.any(String),
      });
      const events = await outboxEvents(t.databaseUrl, response.body.id);
      expect(events.map((e) => e.name)).toEqual(['user.created', 'user.email_verification_requested']);
      expect(events[0].payload.user).toMatchObject({ id: response.body.id, role: 'admin' });

      const signedIn = await signIn(t, 'new.admin@example.com', body.password);
      expect(claimsOf(signedIn.accessToken).role).toBe('admin');
      await t.http().get('/api/v1/admin/stats').set(bearer(signedIn.accessToken)).expect(200);

      const plainBody = { ...buildRegistration(), role: 'user' };
      const plain = await create(plainBody).expect(201);
      expect(plain.body.role).toBe('user');
      const plainSignIn = await signIn(t, plainBody.email, plainBody.password);
      expect(claimsOf(plainSignIn.accessToken)).toMatchObject({ sub: plain.body.id, role: 'user' });
      expectProblem(await t.http().get('/api/v1/admin/stats').set(bearer(plainSignIn.accessToken)), 403, 'FORBIDDEN');
    });

    it('rejects a taken email (any case) with 409 EMAIL_TAKEN', async () => {
      const existing = await registerUser(t.http);
      const response = await create({ ...buildRegistration({ email: existing.email.toUpperCase() }), role: 'user' });
      expectProblem(response, 409, 'EMAIL_TAKEN');
      expect(await query(t.databaseUrl, 'SELECT 1 FROM users WHERE email = $1', [existing.email])).toHaveLength(1);
    });

    type Change = (body: Record<string, unknown>) => Record<string, unknown>;
    it('two creates of one email at once: one 201, one 409 EMAIL_TAKEN', async () => {
      const body = { ...buildRegistration(), role: 'user' };
      const responses = await Promise.all([create(body), create({ ...body, email: body.email.toUpperCase() })]);
      expect(responses.map((r) => r.status).sort()).toEqual([201, 409]);
      expectProblem(responses.find((r) => r.status === 409)!, 409, 'EMAIL_TAKEN');
      expect(await query(t.databaseUrl, 'SELECT 1 FROM users WHERE email = $1', [body.email])).toHaveLength(1);
    });

    it('created by an operator (CLI), the account is verified already and gets no verification mail', async () => {
      const body = { ...buildRegistration(), role: 'admin' as const };
      const { status, body: user } = await t.app.get(AdminService).createUser({ type: 'cli' }, body);
      expect([status, user.role, user.emailVerified]).toEqual([201, 'admin', true]);
      expect((await outboxEvents(t.databaseUrl, user.id)).map((e) => e.name)).toEqual(['user.created']);
      expect(await query(t.databaseUrl, 'SELECT actor_type, actor_id, action FROM audit_entries WHERE target_id = $1', [user.id])).toEqual([
        { actor_type: 'cli', actor_id: null, action: 'user.created' },
      ]);
      await signIn(t, body.email, body.password);
    });

    it.each<[string, Change, string[]]>([
      ['missing role', (b) => ({ ...b, role: undefined }), ['role']],
      ['bad role', (b) => ({ ...b, role: 'root' }), ['role']],
      ['weak password', (b) => ({ ...b, password: 'password' }), ['password']],
      ['bad email', (b) => ({ ...b, email: 'nope' }), ['email']],
      ['missing name', (b) => ({ ...b, name: undefined }), ['name']],
      ['unknown fields', (b) => ({ ...b, status: 'blocked', emailVerified: true }), ['emailVerified', 'status']],
    ])('400 VALIDATION_FAILED for %s, creating nothing', async (_label, change, fields) => {
      const body = change({ ...buildRegistration(), role: 'user' });
      expectProblem(await create(body), 400, 'VALIDATION_FAILED', fields);
      if (typeof body.email === 'string') expect(await query(t.databaseUrl, 'SELECT 1 FROM users WHERE email = $1', [body.email.toLowerCase()])).toHaveLength(0);
    });

    it('with an Idempotency-Key, a repeat replays the first 201 without a second user or user.created', async () => {
      const body = { ...buildRegistration(), role: 'user' };
      const first = await create(body, 'admin-create-1').expect(201);
      const second = await create(body, 'admin-create-1').expect(201);
      expect(second.body).toEqual(first.body);
      expect(await query(t.databaseUrl, 'SELECT id FROM users WHERE email = $1', [body.email])).toEqual([{ id: first.body.id }]);
      expect(await outboxEvents(t.databaseUrl, first.body.id, 'user.created')).toHaveLength(1);
      expect(await query(t.databaseUrl, "SELECT 1 FROM audit_entries WHERE target_id = $1 AND action = 'user.created'", [first.body.id])).toHaveLength(1);

      const reused = await create({ ...body, name: 'Someone Else' }, 'admin-create-1');
      expectProblem(reused, 409, 'IDEMPOTENCY_KEY_REUSED');
      expect(await query(t.databaseUrl, 'SELECT name FROM users WHERE id = $1', [first.body.id])).toEqual([{ name: body.name }]);

      // Keys are per admin: another admin's same key and body is a new request (so the email is taken).
      const other = await createAdmin(t);
      expectProblem(await create(body, 'admin-create-1', other.accessToken), 409, 'EMAIL_TAKEN');
      expectProblem(await create(body, 'bad key with spaces'), 400, 'VALIDATION_FAILED', ['Idempotency-Key']);
    });

    it('concurrent repeats with one Idempotency-Key create one user, and all get its 201', async () => {
      const body = { ...buildRegistration(), role: 'user' };
      const responses = await Promise.all(Array.from({ length: 6 }, () => create(body, 'admin-create-concurrent')));
      const created = await query(t.databaseUrl, 'SELECT id FROM users WHERE email = $1', [body.email]);
      expect(created).toHaveLength(1);
      // The repeats wait for the first one's transaction, then replay its answer.
      expect(responses.map((r) => [r.status, r.body.id])).toEqual(Array(6).fill([201, created[0].id]));
      expect(await outboxEvents(t.databaseUrl, created[0].id as string, 'user.created')).toHaveLength(1);
    });
  });

  describe('GET /admin/stats', () => {
    it('equals a GROUP BY count of the table after inserts, status and role changes and deletions', async () => {
      // A mix through the API and straight in the table (the counters are kept by the database itself).
      const users = await Promise.all(Array.from({ length: 6 }, () => registerUser(t.http)));
      await t.http().patch(`/api/v1/admin/users/${users[0].id}/status`).set(bearer(admin.accessToken)).send({ status: 'blocked', reason: 'Fraud' }).expect(200);
      await t.http().patch(`/api/v1/admin/users/${users[1].id}/role`).set(bearer(admin.accessToken)).send({ role: 'admin' }).expect(200);
      await t.http().delete('/api/v1/users/me').set(bearer(users[2].accessToken)).expect(204);
      await query(
        t.databaseUrl,
        `INSERT INTO users (email, password_hash, name, status, role, email_verified, created_at)
         SELECT 'stats-' || g || '@example.com', 'x', 'Stats ' || g,
                (ARRAY['active', 'blocked', 'suspended', 'deactivated'])[1 + g % 4], (ARRAY['user', 'admin'])[1 + g % 2], g % 3 = 0,
                now() - (g || ' hours')::interval * 7
           FROM generate_series(1, 40) g`,
      );
      await query(t.databaseUrl, "UPDATE users SET status = 'blocked' WHERE email LIKE 'stats-1_@example.com'");
      await query(t.databaseUrl, "UPDATE users SET role = 'admin', email_verified = true WHERE email LIKE 'stats-2_@example.com'");
      await query(t.databaseUrl, "DELETE FROM users WHERE email LIKE 'stats-3_@example.com'");
      await query(t.databaseUrl, "UPDATE users SET name = 'Renamed' WHERE email LIKE 'stats-%'");

      const { body } = await t.http().get('/api/v1/admin/stats').set(bearer(admin.accessToken)).expect(200);
      const count = async (sql: string) => (await query<{ n: number }>(t.databaseUrl, `SELECT count(*)::int AS n FROM users ${sql}`))[0].n;
      const grouped = async (column: string) =>
        Object.fromEntries(
          (await query<{ k: string; n: number }>(t.databaseUrl, `SELECT ${column} AS k, count(*)::int AS n FROM users GROUP BY 1`)).map(({ k, n }) => [k, n]),
        );
      expect(body).toEqual({
        total: await count(''),
        byStatus: { active: 0, blocked: 0, suspended: 0, deactivated: 0, ...(await grouped('status')) },
        byRole: { user: 0, admin: 0, ...(await grouped('role')) },
        verified: await count('WHERE email_verified'),
        registeredLast24h: await count("WHERE created_at > now() - interval '1 day'"),
        registeredLast7d: await count("WHERE created_at > now() - interval '7 days'"),
      });
      // The mix really spread the counts (so the equality above says something).
      expect(Object.values(body.byStatus).every((n) => (n as number) > 0)).toBe(true);
      expect(body.registeredLast7d).toBeGreaterThan(body.registeredLast24h);
      expect(body.total).toBeGreaterThan(body.registeredLast7d);
    });
  });
});
