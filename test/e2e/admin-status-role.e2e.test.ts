import { AdminService } from '../../src/modules/admin/admin.service.js';
import { UsersService } from '../../src/modules/users/users.service.js';
import { type RegisteredUser, registerUser } from '../factories/user.factory.js';
import { activeAdminCount, auditRows, bearer, claimsOf, createAdmin, expectProblem, fromNow, signIn } from '../utils/admin.js';
import { rejectionOf } from '../utils/errors.js';
import { outboxEvents, waitFor } from '../utils/outbox.js';
import { bootTestApp, describeWithRedis, query, type TestApp } from '../utils/test-app.js';

const MISSING_ID = '00000000-0000-4000-8000-000000000000';

const userRow = async (t: TestApp, id: string) =>
  (await query(t.databaseUrl, 'SELECT role, status, status_reason, status_until FROM users WHERE id = $1', [id]))[0];

const lapse = (t: TestApp, id: string) => query(t.databaseUrl, "UPDATE users SET status_until = now() - interval '1 second' WHERE id = $1", [id]);

describe('Admin: status and role changes (e2e)', () => {
  let t: TestApp;
  let admin: RegisteredUser;
  beforeAll(async () => {
    t = await bootTestApp({ env: { MAX_SUSPENSION_DAYS: '30' } });
    admin = await createAdmin(t);
  });
  afterAll(() => t.close());

  const setStatus = (id: string, body: object, token = admin.accessToken) =>
    t.http().patch(`/api/v1/admin/users/${id}/status`).set(bearer(token)).send(body);
  const setRole = (id: string, body: object, token = admin.accessToken) =>
    t.http().patch(`/api/v1/admin/users/${id}/role`).set(bearer(token)).send(body);
  const login = (user: { email: string; password: string }) => t.http().post('/api/v1/auth/login').send({ email: user.email, password: user.password });

  describe('PATCH /admin/users/:id/status', () => {
    it('blocks with a reason: sign-in is refused until reactivated; user.status_changed each time', async () => {
      const user = await registerUser(t.http);
      const blocked = await setStatus(user.id, { status: 'blocked', reason: '  Chargeback fraud  ' }).expect(200);
      expect(blocked.body).toMatchObject({ id: user.id, status: 'blocked', statusReason: 'Chargeback fraud', statusUntil: null });
      expect(await userRow(t, user.id)).toEqual({ role: 'user', status: 'blocked', status_reason: 'Chargeback fraud', status_until: null });
      expectProblem(await login(user), 403, 'ACCOUNT_BLOCKED');

      const active = await setStatus(user.id, { status: 'active', reason: 'Appeal upheld' }).expect(200);
      expect(active.body).toMatchObject({ status: 'active', statusReason: 'Appeal upheld', statusUntil: null });
      await login(user).expect(200);
      const events = await outboxEvents(t.databaseUrl, user.id, 'user.status_changed');
      expect(events.map((e) => e.payload)).toEqual([
        expect.objectContaining({ userId: user.id, status: 'blocked', reason: 'Chargeback fraud', until: null }),
        expect.objectContaining({ userId: user.id, status: 'active', reason: 'Appeal upheld', until: null }),
      ]);
    });

    it('suspends until a date: sign-in refused with ACCOUNT_SUSPENDED; the event carries until', async () => {
      const user = await registerUser(t.http);
      const until = fromNow(29 * 86_400);
      const response = await setStatus(user.id, { status: 'suspended', reason: 'Cooling off', until }).expect(200);
      expect(response.body).toMatchObject({ status: 'suspended', statusReason: 'Cooling off', statusUntil: until });
      expectProblem(await login(user), 403, 'ACCOUNT_SUSPENDED');
      const [event] = await outboxEvents(t.databaseUrl, user.id, 'user.status_changed');
      expect(event.payload).toMatchObject({ userId: user.id, status: 'suspended', reason: 'Cooling off', until });
    });

    it('a repeat of the current status changes nothing: no second event, audit entry or session end', async () => {
      const user = await registerUser(t.http);
      await setStatus(user.id, { status: 'active', reason: 'Already active' }).expect(200);
      expect(await outboxEvents(t.databaseUrl, user.id, 'user.status_changed')).toHaveLength(0);
      await t.http().get('/api/v1/users/me').set(bearer(user.accessToken)).expect(200);
      await setStatus(user.id, { status: 'blocked', reason: 'Spam' }).expect(200);
      await setStatus(user.id, { status: 'blocked', reason: 'Spam' }).expect(200);
      expect(await outboxEvents(t.databaseUrl, user.id, 'user.status_changed')).toHaveLength(1);
      expect(await auditRows(t.databaseUrl, user.id, 'user.status_changed')).toHaveLength(1);
      // A new reason is a change of its own.
      await setStatus(user.id, { status: 'blocked', reason: 'Spam, again' }).expect(200);
      expect(await outboxEvents(t.databaseUrl, user.id, 'user.status_changed')).toHaveLength(2);
    });

    it.each([
      ['no reason', { status: 'blocked' }, ['reason']],
      ['an empty reason', { status: 'blocked', reason: '' }, ['reason']],
      ['a blank reason', { status: 'blocked', reason: '    ' }, ['reason']],
      ['a reason over 500 characters', { status: 'blocked', reason: 'x'.repeat(501) }, ['reason']],
      ['a non-string reason', { status: 'blocked', reason: 42 }, ['reason']],
      ['no status', { reason: 'Why' }, ['status']],
      ['status deactivated (only the owner does that)', { status: 'deactivated', reason: 'Why' }, ['status']],
      ['an unknown status', { status: 'banned', reason: 'Why' }, ['status']],
      ['unknown fields', { status: 'blocked', reason: 'Why', role: 'admin', statusReason: 'x' }, ['role', 'statusReason']],
      ['suspended without until', { status: 'suspended', reason: 'Why' }, ['until']],
      ['until in the past', { status: 'suspended', reason: 'Why', until: fromNow(-60) }, ['until']],
      ['until beyond MAX_SUSPENSION_DAYS', { status: 'suspended', reason: 'Why', until: fromNow(31 * 86_400) }, ['until']],
      ['until that is not a date-time', { status: 'suspended', reason: 'Why', until: 'next tuesday' }, ['until']],
      ['until with blocked', { status: 'blocked', reason: 'Why', until: fromNow(3_600) }, ['until']],
      ['until with active', { status: 'active', reason: 'Why', until: fromNow(3_600) }, ['until']],
    ] as [string, object, string[]][])('400 VALIDATION_FAILED for %s, changing nothing', async (_label, body, fields) => {
      const user = await registerUser(t.http);
      expectProblem(await setStatus(user.id, body), 400, 'VALIDATION_FAILED', fields);
      expect(await userRow(t, user.id)).toEqual({ role: 'user', status: 'active', status_reason: null, status_until: null });
      await t.http().get('/api/v1/users/me').set(bearer(user.accessToken)).expect(200);
    });

    it('accepts a reason of exactly 500 characters and an until just inside MAX_SUSPENSION_DAYS', async () => {
      const user = await registerUser(t.http);
      await setStatus(user.id, { status: 'suspended', reason: 'y'.repeat(500), until: fromNow(30 * 86_400 - 60) }).expect(200);
    });

    it('is 404 USER_NOT_FOUND for an unknown user and 400 for a bad id', async () => {
      expectProblem(await setStatus(MISSING_ID, { status: 'blocked', reason: 'Why' }), 404, 'USER_NOT_FOUND');
      expectProblem(await setStatus('nope', { status: 'blocked', reason: 'Why' }), 400, 'VALIDATION_FAILED', ['id']);
    });
  });

  describe('PATCH /admin/users/:id/role', () => {
    it('promotes and demotes, recording user.role_changed; a demotion ends every session', async () => {
      const user = await registerUser(t.http);
      const promoted = await setRole(user.id, { role: 'admin', reason: 'New support lead' }).expect(200);
      expect(promoted.body).toMatchObject({ id: user.id, role: 'admin', status: 'active' });
      // A promotion leaves sessions alone.
      await t.http().get('/api/v1/users/me').set(bearer(user.accessToken)).expect(200);
      const demoted = await setRole(user.id, { role: 'user' }).expect(200);
      expect(demoted.body.role).toBe('user');
      expectProblem(await t.http().get('/api/v1/users/me').set(bearer(user.accessToken)), 401, 'UNAUTHENTICATED');
      expect((await outboxEvents(t.databaseUrl, user.id, 'user.role_changed')).map((e) => e.payload)).toEqual([
        expect.objectContaining({ userId: user.id, role: 'admin' }),
        expect.objectContaining({ userId: user.id, role: 'user' }),
      ]);
      expect((await outboxEvents(t.databaseUrl, user.id, 'session.revoked')).map((e) => e.payload.reason)).toEqual(['admin']);
      // Setting the role it has is a no-op.
      await setRole(user.id, { role: 'user' }).expect(200);
      expect(await outboxEvents(t.databaseUrl, user.id, 'user.role_changed')).toHaveLength(2);
    });

    it('after a promotion the next refresh carries role admin', async () => {
      const user = await registerUser(t.http);
      await setRole(user.id, { role: 'admin' }).expect(200);
      expect(claimsOf(user.accessToken).role).toBe('user');
      expectProblem(await t.http().get('/api/v1/admin/stats').set(bearer(user.accessToken)), 403, 'FORBIDDEN');
      const refreshed = await t.http().post('/api/v1/auth/refresh').send({ refreshToken: user.refreshToken }).expect(200);
      expect(claimsOf(refreshed.body.accessToken)).toMatchObject({ sub: user.id, role: 'admin', sid: claimsOf(user.accessToken).sid });
      await t.http().get('/api/v1/admin/stats').set(bearer(refreshed.body.accessToken)).expect(200);
    });

    it.each([
      ['no role', {}, ['role']],
      ['an unknown role', { role: 'superuser' }, ['role']],
      ['unknown fields', { role: 'admin', status: 'active' }, ['status']],
      ['a reason over 500 characters', { role: 'admin', reason: 'x'.repeat(501) }, ['reason']],
      ['an empty reason', { role: 'admin', reason: '' }, ['reason']],
    ] as [string, object, string[]][])('400 VALIDATION_FAILED for %s, changing nothing', async (_label, body, fields) => {
      const user = await registerUser(t.http);
      expectProblem(await setRole(user.id, body), 400, 'VALIDATION_FAILED', fields);
      expect((await userRow(t, user.id)).role).toBe('user');
    });

    it('is 404 USER_NOT_FOUND for an unknown user and 400 for a bad id', async () => {
      expectProblem(await setRole(MISSING_ID, { role: 'admin' }), 404, 'USER_NOT_FOUND');
      expectProblem(await setRole('1234', { role: 'admin' }), 400, 'VALIDATION_FAILED', ['id']);
    });
  });

  describe('self-protection', () => {
    it('an admin cannot block, suspend or demote themselves, nor deactivate their own account', async () => {
      const self = await createAdmin(t);
      expectProblem(await setStatus(self.id, { status: 'blocked', reason: 'Oops' }, self.accessToken), 409, 'SELF_CHANGE_FORBIDDEN');
      expectProblem(await setStatus(self.id, { status: 'suspended', reason: 'Oops', until: fromNow(3_600) }, self.accessToken), 409, 'SELF_CHANGE_FORBIDDEN');
      expectProblem(await setRole(self.id, { role: 'user' }, self.accessToken), 409, 'SELF_CHANGE_FORBIDDEN');
      expectProblem(await t.http().delete('/api/v1/users/me').set(bearer(self.accessToken)), 409, 'SELF_CHANGE_FORBIDDEN');
      expect(await userRow(t, self.id)).toEqual({ role: 'admin', status: 'active', status_reason: null, status_until: null });
      // Nothing ended: the admin is still signed in, and nothing was recorded.
      await t.http().get('/api/v1/admin/stats').set(bearer(self.accessToken)).expect(200);
      expect(await outboxEvents(t.databaseUrl, self.id, 'session.revoked')).toHaveLength(0);
      expect(await auditRows(t.databaseUrl, self.id)).toHaveLength(0);
      // What does not take anything away is allowed.
      await setStatus(self.id, { status: 'active', reason: 'Still here' }, self.accessToken).expect(200);
      await setRole(self.id, { role: 'admin' }, self.accessToken).expect(200);
    });
  });

  describe('a deactivated account', () => {
    it('no longer changes status or role: 409 USER_DEACTIVATED', async () => {
      const user = await registerUser(t.http);
      await t.http().delete('/api/v1/users/me').set(bearer(user.accessToken)).expect(204);
      for (const response of [
        await setStatus(user.id, { status: 'active', reason: 'Bring back' }),
        await setStatus(user.id, { status: 'blocked', reason: 'Why' }),
        await setStatus(user.id, { status: 'suspended', reason: 'Why', until: fromNow(3_600) }),
        await setRole(user.id, { role: 'admin' }),
      ]) {
        expectProblem(response, 409, 'USER_DEACTIVATED');
      }
      expect(await userRow(t, user.id)).toMatchObject({ role: 'user', status: 'deactivated' });
      expectProblem(await login(user), 403, 'ACCOUNT_DEACTIVATED');
    });
  });

  describe('suspension expiry', () => {
    const expectLifted = async (user: { id: string }, reason: string) => {
      expect(await userRow(t, user.id)).toEqual({ role: 'user', status: 'active', status_reason: null, status_until: null });
      const events = await outboxEvents(t.databaseUrl, user.id, 'user.status_changed');
      expect(events.at(-1)!.payload).toMatchObject({ userId: user.id, status: 'active', reason: 'suspension ended', until: null });
      const [entry] = await auditRows(t.databaseUrl, user.id, 'user.suspension_lifted');
      expect(entry).toMatchObject({
        actor_type: 'system',
        actor_id: null,
        ip: null,
        user_agent: null,
        reason: 'suspension ended',
        changes_before: { status: 'suspended', statusReason: reason, statusUntil: expect.any(String) },
        changes_after: { status: 'active', statusReason: null, statusUntil: null },
      });
      const admins = await t.http().get(`/api/v1/admin/users/${user.id}`).set(bearer(admin.accessToken)).expect(200);
      expect(admins.body).toMatchObject({ status: 'active', statusReason: null, statusUntil: null });
    };

    it('a sign-in after the end lifts it: 200, status active, user.status_changed and a system audit entry', async () => {
      const user = await registerUser(t.http);
      await setStatus(user.id, { status: 'suspended', reason: 'Timeout', until: fromNow(3_600) }).expect(200);
      expectProblem(await login(user), 403, 'ACCOUNT_SUSPENDED');
      await lapse(t, user.id);
      const response = await login(user).expect(200);
      expect(response.body.user).toMatchObject({ id: user.id, status: 'active' });
      await t.http().get('/api/v1/users/me').set(bearer(response.body.accessToken)).expect(200);
      await expectLifted(user, 'Timeout');
    });

    it('the sweep lifts lapsed suspensions only', async () => {
      const [lapsedA, lapsedB, running] = await Promise.all([registerUser(t.http), registerUser(t.http), registerUser(t.http)]);
      for (const user of [lapsedA, lapsedB, running]) {
        await setStatus(user.id, { status: 'suspended', reason: 'Sweep me', until: fromNow(3_600) }).expect(200);
      }
      await lapse(t, lapsedA.id);
      await lapse(t, lapsedB.id);
      expect(await t.app.get(UsersService).liftLapsedSuspensions()).toBe(2);
      await expectLifted(lapsedA, 'Sweep me');
      await expectLifted(lapsedB, 'Sweep me');
      expect(await userRow(t, running.id)).toMatchObject({ status: 'suspended', status_reason: 'Sweep me' });
      expect(await t.app.get(UsersService).liftLapsedSuspensions()).toBe(0);
      expect(await auditRows(t.databaseUrl, lapsedA.id, 'user.suspension_lifted')).toHaveLength(1);
    });
  });

  describe('races and cached profiles', () => {
    it('a block racing sign-ins and refreshes leaves no working session', async () => {
      const user = await registerUser(t.http);
      const earlier = await signIn(t, user.email, user.password);
      const [block, ...attempts] = await Promise.all([
        setStatus(user.id, { status: 'blocked', reason: 'Race' }),
        ...Array.from({ length: 6 }, () => login(user)),
        t.http().post('/api/v1/auth/refresh').send({ refreshToken: earlier.refreshToken }),
      ]);
      expect(block.status).toBe(200);
      for (const attempt of attempts) {
        expect([200, 401, 403]).toContain(attempt.status);
        if (attempt.status === 200) expect(await t.http().get('/api/v1/users/me').set(bearer(attempt.body.accessToken)).then((r) => r.status)).toBe(401);
        if (attempt.status === 403) expect(attempt.body.code).toBe('ACCOUNT_BLOCKED');
      }
      const open = await query(t.databaseUrl, 'SELECT id FROM sessions WHERE user_id = $1 AND revoked_at IS NULL', [user.id]);
      expect(open).toEqual([]);
      expectProblem(await login(user), 403, 'ACCOUNT_BLOCKED');
    });

    it('sign-ins and the sweep lifting the same lapsed suspensions at once lift each exactly once', async () => {
      const users = await Promise.all(Array.from({ length: 4 }, () => registerUser(t.http)));
      for (const user of users) await setStatus(user.id, { status: 'suspended', reason: 'Race', until: fromNow(60) }).expect(200);
      for (const user of users) await lapse(t, user.id);
      const [lifted, ...logins] = await Promise.all([t.app.get(UsersService).liftLapsedSuspensions(), ...users.map((user) => login(user))]);
      expect(logins.map((r) => r.status)).toEqual(users.map(() => 200));
      expect(lifted).toBeLessThanOrEqual(users.length);
      for (const user of users) {
        expect(await userRow(t, user.id)).toMatchObject({ status: 'active', status_until: null });
        expect(await auditRows(t.databaseUrl, user.id, 'user.suspension_lifted')).toHaveLength(1);
        expect((await outboxEvents(t.databaseUrl, user.id, 'user.status_changed')).filter((e) => e.payload.status === 'active')).toHaveLength(1);
      }
    });

    it('GET /users/:id (a cached profile) shows each change at once', async () => {
      const user = await registerUser(t.http);
      const seen = async () => {
        const { body } = await t.http().get(`/api/v1/users/${user.id}`).set(bearer(admin.accessToken)).expect(200);
        return `${body.role} ${body.status}`;
      };
      expect(await seen()).toBe('user active');
      await setStatus(user.id, { status: 'blocked', reason: 'Cache' }).expect(200);
      expect(await seen()).toBe('user blocked');
      await setStatus(user.id, { status: 'active', reason: 'Cache' }).expect(200);
      expect(await seen()).toBe('user active');
      await setRole(user.id, { role: 'admin' }).expect(200);
      expect(await seen()).toBe('admin active');
      await setRole(user.id, { role: 'user' }).expect(200);
      expect(await seen()).toBe('user active');
      await setStatus(user.id, { status: 'suspended', reason: 'Cache', until: fromNow(60) }).expect(200);
      expect(await seen()).toBe('user suspended');
      await lapse(t, user.id);
      await t.app.get(UsersService).liftLapsedSuspensions();
      expect(await seen()).toBe('user active');
      await setStatus(user.id, { status: 'suspended', reason: 'Cache', until: fromNow(60) }).expect(200);
      expect(await seen()).toBe('user suspended');
      await lapse(t, user.id);
      await login(user).expect(200);
      expect(await seen()).toBe('user active');
      await t.app.get(AdminService).setRoleByEmail({ type: 'cli' }, user.email, 'admin');
      expect(await seen()).toBe('admin active');
    });
  });

  describeWithRedis('immediate revocation, on this app and on another replica', () => {
    let replica: TestApp;
    beforeAll(async () => {
      // Same database and the same Redis keys: a second pod of the same deployment.
      replica = await bootTestApp({ databaseUrl: t.databaseUrl, env: { REDIS_KEY_PREFIX: t.config.redisKeyPrefix, MAX_SUSPENSION_DAYS: '30' } });
    });
    afterAll(() => replica.close());

    it('replicas sweeping at once lift each lapsed suspension once', async () => {
      const users = await Promise.all(Array.from({ length: 5 }, () => registerUser(t.http)));
      for (const user of users) await setStatus(user.id, { status: 'suspended', reason: 'Two pods', until: fromNow(60) }).expect(200);
      await query(t.databaseUrl, "UPDATE users SET status_until = now() - interval '1 second' WHERE id = ANY($1::uuid[])", [users.map((u) => u.id)]);
      const sweeps = await Promise.all([t, replica, t, replica].map((app) => app.app.get(UsersService).liftLapsedSuspensions(2)));
      expect(sweeps.reduce((a, b) => a + b, 0)).toBe(5);
      for (const user of users) expect(await auditRows(t.databaseUrl, user.id, 'user.suspension_lifted')).toHaveLength(1);
    });

    it.each([
      ['blocking', (id: string) => setStatus(id, { status: 'blocked', reason: 'Stolen account' }).expect(200)],
      ['suspending', (id: string) => setStatus(id, { status: 'suspended', reason: 'Pause', until: fromNow(3_600) }).expect(200)],
      ['demoting', (id: string) => setRole(id, { role: 'user' }).expect(200)],
      ['ending the sessions', (id: string) => t.http().delete(`/api/v1/admin/users/${id}/sessions`).set(bearer(admin.accessToken)).expect(204)],
    ] as [string, (id: string) => Promise<unknown>][])('%s refuses every existing access and refresh token at once, everywhere', async (label, change) => {
      const user = label === 'demoting' ? await createAdmin(t) : await registerUser(t.http);
      const other = await signIn(t, user.email, user.password);
      const sessions = [user, other];
      // Each app has checked (and remembered) each token before the change.
      for (const app of [t, replica]) {
        for (const { accessToken } of sessions) await app.http().get('/api/v1/users/me').set(bearer(accessToken)).expect(200);
      }
      await change(user.id);
      for (const app of [t, replica]) {
        for (const { accessToken } of sessions) {
          expectProblem(await app.http().get('/api/v1/users/me').set(bearer(accessToken)), 401, 'UNAUTHENTICATED');
        }
      }
      expectProblem(await t.http().post('/api/v1/auth/refresh').send({ refreshToken: user.refreshToken }), 401, 'UNAUTHENTICATED');
      expectProblem(await replica.http().post('/api/v1/auth/refresh').send({ refreshToken: other.refreshToken }), 401, 'UNAUTHENTICATED');
      // Every session of the user ended (createAdmin's registration session too), each with session.revoked reason admin.
      const ended = await query<{ id: string; revoked_reason: string }>(t.databaseUrl, 'SELECT id, revoked_reason FROM sessions WHERE user_id = $1 ORDER BY id', [user.id]);
      expect(ended.map((s) => s.id)).toEqual(expect.arrayContaining(sessions.map((s) => claimsOf(s.accessToken).sid)));
      expect(ended.every((s) => s.revoked_reason === 'admin')).toBe(true);
      const revoked = await outboxEvents(t.databaseUrl, user.id, 'session.revoked');
      expect(revoked.map((e) => [e.payload.sessionId, e.payload.reason]).sort()).toEqual(ended.map((s) => [s.id, 'admin']).sort());
    });
  });
});

describe('Admin: the last active admin (e2e)', () => {
  let t: TestApp;
  let admins: AdminService;
  beforeAll(async () => {
    t = await bootTestApp();
    admins = t.app.get(AdminService);
  });
  afterAll(() => t.close());

  const setStatus = (id: string, body: object, token: string) => t.http().patch(`/api/v1/admin/users/${id}/status`).set(bearer(token)).send(body);
  const setRole = (id: string, body: object, token: string) => t.http().patch(`/api/v1/admin/users/${id}/role`).set(bearer(token)).send(body);
  const cli = { type: 'cli' } as const;
  type Act = (targetId: string, token: string) => ReturnType<typeof setStatus>;
  /** Leaves exactly these as the active admins (demoting any other in the table; their tokens are not used again). */
  const onlyActiveAdmins = (...ids: string[]) =>
    query(t.databaseUrl, "UPDATE users SET role = 'user' WHERE role = 'admin' AND status = 'active' AND NOT (id = ANY($1::uuid[]))", [ids]);

  it('cannot lose its role or status, through the CLI (which has no self rule)', async () => {
    const only = await createAdmin(t);
    await onlyActiveAdmins(only.id);
    for (const attempt of [
      admins.setRoleByEmail(cli, only.email.toUpperCase(), 'user'),
      admins.setStatus(cli, only.id, { status: 'blocked', reason: 'Leaving' }),
      admins.setStatus(cli, only.id, { status: 'suspended', reason: 'Leaving', until: fromNow(3_600) }),
    ]) {
      const error = await rejectionOf(attempt);
      expect([error.code, error.status]).toEqual(['LAST_ADMIN', 409]);
    }
    expect(await userRow(t, only.id)).toMatchObject({ role: 'admin', status: 'active' });
    await t.http().get('/api/v1/admin/stats').set(bearer(only.accessToken)).expect(200);

    // With a second active admin, the first may go; then the second is the last.
    const second = await createAdmin(t);
    await admins.setRoleByEmail(cli, only.email, 'user');
    expect((await rejectionOf(admins.setRoleByEmail(cli, second.email, 'user'))).code).toBe('LAST_ADMIN');
    expect(await activeAdminCount(t.databaseUrl)).toBe(1);
  });

  it('cannot lose its role or status through an admin whose own token outlived their admin rights', async () => {
    const last = await createAdmin(t);
    const stale = await createAdmin(t);
    await onlyActiveAdmins(last.id, stale.id);
    // Blocked behind the service's back: the token still says admin, but the database no longer counts this one.
    await query(t.databaseUrl, "UPDATE users SET status = 'blocked' WHERE id = $1", [stale.id]);
    expectProblem(await setStatus(last.id, { status: 'blocked', reason: 'Coup' }, stale.accessToken), 409, 'LAST_ADMIN');
    expectProblem(await setStatus(last.id, { status: 'suspended', reason: 'Coup', until: fromNow(60) }, stale.accessToken), 409, 'LAST_ADMIN');
    expectProblem(await setRole(last.id, { role: 'user' }, stale.accessToken), 409, 'LAST_ADMIN');
    expect(await userRow(t, last.id)).toMatchObject({ role: 'admin', status: 'active' });
    await t.http().get('/api/v1/admin/stats').set(bearer(last.accessToken)).expect(200);
  });

  it('an admin who is not active does not count, and may be demoted by the last one', async () => {
    const last = await createAdmin(t);
    const other = await createAdmin(t);
    await onlyActiveAdmins(last.id, other.id);
    await setStatus(other.id, { status: 'blocked', reason: 'Left the company' }, last.accessToken).expect(200);
    await setRole(other.id, { role: 'user' }, last.accessToken).expect(200);
    expect(await userRow(t, other.id)).toMatchObject({ role: 'user', status: 'blocked' });
    expect(await activeAdminCount(t.databaseUrl)).toBe(1);
  });

  it.each([
    ['block each other', (id: string, token: string) => setStatus(id, { status: 'blocked', reason: 'Race' }, token), (id: string, token: string) => setStatus(id, { status: 'blocked', reason: 'Race' }, token)],
    ['demote each other', (id: string, token: string) => setRole(id, { role: 'user' }, token), (id: string, token: string) => setRole(id, { role: 'user' }, token)],
    ['one blocks, one demotes', (id: string, token: string) => setStatus(id, { status: 'blocked', reason: 'Race' }, token), (id: string, token: string) => setRole(id, { role: 'user' }, token)],
    ['one suspends, one blocks', (id: string, token: string) => setStatus(id, { status: 'suspended', reason: 'Race', until: fromNow(600) }, token), (id: string, token: string) => setStatus(id, { status: 'blocked', reason: 'Race' }, token)],
  ] as [string, Act, Act][])('two admins who %s at once never leave zero active admins', async (_label, first, second) => {
    for (let round = 0; round < 3; round += 1) {
      const [a, b] = await Promise.all([createAdmin(t), createAdmin(t)]);
      await onlyActiveAdmins(a.id, b.id);
      const [byA, byB] = await Promise.all([first(b.id, a.accessToken), second(a.id, b.accessToken)]);
      expect(await activeAdminCount(t.databaseUrl)).toBe(1);
      const outcomes = [byA, byB].map((r) => (r.status === 200 ? 200 : `${r.status} ${r.body.code}`)).sort();
      // One wins; the other is told it would remove the last admin, or was already signed out by the winner.
      expect(outcomes[0]).toBe(200);
      expect(['409 LAST_ADMIN', '401 UNAUTHENTICATED']).toContain(outcomes[1]);
    }
  });

  it('a ring of admins acting on each other at once keeps at least one active admin', async () => {
    const ring = await Promise.all([createAdmin(t), createAdmin(t), createAdmin(t)]);
    await onlyActiveAdmins(...ring.map((a) => a.id));
    const responses = await Promise.all(
      ring.map((actor, i) => {
        const target = ring[(i + 1) % ring.length]!;
        return i % 2 === 0 ? setStatus(target.id, { status: 'blocked', reason: 'Ring' }, actor.accessToken) : setRole(target.id, { role: 'user' }, actor.accessToken);
      }),
    );
    const remaining = await activeAdminCount(t.databaseUrl);
    expect(remaining).toBeGreaterThanOrEqual(1);
    expect(responses.filter((r) => r.status === 200)).toHaveLength(ring.length - remaining);
    for (const r of responses.filter((r) => r.status !== 200)) expect(['409 LAST_ADMIN', '401 UNAUTHENTICATED']).toContain(`${r.status} ${r.body.code}`);
  });
});

describe('Admin: the periodic suspension sweep (e2e)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await bootTestApp({ env: { SUSPENSION_SWEEP_SECONDS: '1' } });
  });
  afterAll(() => t.close());

  it('lifts a lapsed suspension by itself within a pass or two', async () => {
    const admin = await createAdmin(t);
    const user = await registerUser(t.http);
    await t.http().patch(`/api/v1/admin/users/${user.id}/status`).set(bearer(admin.accessToken)).send({ status: 'suspended', reason: 'Nap', until: fromNow(3_600) }).expect(200);
    await lapse(t, user.id);
    await waitFor(async () => (await userRow(t, user.id)).status === 'active', 5_000);
    expect((await outboxEvents(t.databaseUrl, user.id, 'user.status_changed')).at(-1)!.payload).toMatchObject({ status: 'active', until: null });
    expect(await auditRows(t.databaseUrl, user.id, 'user.suspension_lifted')).toEqual([expect.objectContaining({ actor_type: 'system' })]);
  });
});
