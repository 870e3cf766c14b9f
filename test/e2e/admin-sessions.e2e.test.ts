import { buildRegistration, registerUser } from '../factories/user.factory.js';
import { auditRows, bearer, claimsOf, createAdmin, expectProblem, signIn } from '../utils/admin.js';
import { outboxEvents } from '../utils/outbox.js';
import { bootTestApp, query, type TestApp } from '../utils/test-app.js';

const MISSING_ID = '00000000-0000-4000-8000-000000000000';

describe("Admin: a user's sessions (e2e)", () => {
  let t: TestApp;
  let adminToken: string;
  beforeAll(async () => {
    t = await bootTestApp();
    adminToken = (await createAdmin(t)).accessToken;
  });
  afterAll(() => t.close());

  const list = (id: string) => t.http().get(`/api/v1/admin/users/${id}/sessions`).set(bearer(adminToken));
  const endAll = (id: string) => t.http().delete(`/api/v1/admin/users/${id}/sessions`).set(bearer(adminToken));
  const pause = () => new Promise((resolve) => setTimeout(resolve, 5));

  it('GET lists the active sessions only, most recently used first, with where they came from', async () => {
    const user = await registerUser(t.http);
    await pause();
    const laptop = await signIn(t, user.email, user.password, { 'User-Agent': 'Laptop/2.0' });
    await pause();
    const phone = await signIn(t, user.email, user.password, { 'User-Agent': 'Phone/1.0' });
    const loggedOut = await signIn(t, user.email, user.password, { 'User-Agent': 'Gone/0' });
    await t.http().post('/api/v1/auth/logout').set(bearer(loggedOut.accessToken)).expect(204);
    const idle = await signIn(t, user.email, user.password, { 'User-Agent': 'Idle/0' });
    const expired = await signIn(t, user.email, user.password, { 'User-Agent': 'Expired/0' });
    await query(t.databaseUrl, "UPDATE sessions SET last_used_at = now() - interval '31 days' WHERE id = $1", [claimsOf(idle.accessToken).sid]);
    await query(t.databaseUrl, "UPDATE sessions SET expires_at = now() - interval '1 second' WHERE id = $1", [claimsOf(expired.accessToken).sid]);
    await pause();
    // Using the laptop's session makes it the most recent.
    await t.http().post('/api/v1/auth/refresh').set('User-Agent', 'Laptop/2.0').send({ refreshToken: laptop.refreshToken }).expect(200);

    const { body } = await list(user.id).expect(200);
    expect(body.map((s: { id: string }) => s.id)).toEqual([laptop, phone, user].map((s) => claimsOf(s.accessToken).sid));
    for (const session of body) {
      expect(session).toEqual({
        id: expect.any(String),
        createdAt: expect.any(String),
        lastUsedAt: expect.any(String),
        expiresAt: expect.any(String),
        ip: expect.stringMatching(/127\.0\.0\.1|::1/),
        userAgent: session.id === claimsOf(user.accessToken).sid ? null : expect.any(String),
      });
      expect(new Date(session.lastUsedAt).getTime()).toBeGreaterThanOrEqual(new Date(session.createdAt).getTime());
    }
    expect(body.map((s: { userAgent: string | null }) => s.userAgent)).toEqual(['Laptop/2.0', 'Phone/1.0', null]);
    expect(new Date(body[0].lastUsedAt).getTime()).toBeGreaterThan(new Date(body[0].createdAt).getTime());
    expect(JSON.stringify(body)).not.toMatch(/refresh|token|hash/i);
  });

  it('GET is [] for a user without sessions, 404 USER_NOT_FOUND for an unknown user and 400 for a bad id', async () => {
    const created = await t.http().post('/api/v1/admin/users').set(bearer(adminToken)).send({ ...buildRegistration(), role: 'user' }).expect(201);
    expect((await list(created.body.id).expect(200)).body).toEqual([]);
    expectProblem(await list(MISSING_ID), 404, 'USER_NOT_FOUND');
    expectProblem(await list('not-a-uuid'), 400, 'VALIDATION_FAILED', ['id']);
  });

  it('DELETE ends every session: 204, tokens refused, session.revoked (admin) for each, one audit entry', async () => {
    const user = await registerUser(t.http);
    const second = await signIn(t, user.email, user.password);
    const bystander = await registerUser(t.http);
    const sids = [user, second].map((s) => claimsOf(s.accessToken).sid).sort();

    await endAll(user.id).set('X-Correlation-ID', 'end-sessions-1').expect(204);
    expect((await list(user.id).expect(200)).body).toEqual([]);
    for (const { accessToken, refreshToken } of [user, second]) {
      expectProblem(await t.http().get('/api/v1/users/me').set(bearer(accessToken)), 401, 'UNAUTHENTICATED');
      expectProblem(await t.http().post('/api/v1/auth/refresh').send({ refreshToken }), 401, 'UNAUTHENTICATED');
    }
    const revoked = await outboxEvents(t.databaseUrl, user.id, 'session.revoked');
    expect(revoked.map((e) => e.payload.sessionId).sort()).toEqual(sids);
    for (const { payload } of revoked) {
      expect(payload).toMatchObject({ userId: user.id, reason: 'admin', correlationId: 'end-sessions-1', accessTokenExpiresAt: expect.any(String) });
    }
    const [entry, ...more] = await auditRows(t.databaseUrl, user.id, 'user.sessions_revoked');
    expect(more).toHaveLength(0);
    expect(entry).toMatchObject({ actor_type: 'user', changes_after: { sessionsEnded: 2 }, correlation_id: 'end-sessions-1' });

    // Others are untouched, and the user is not locked out.
    await t.http().get('/api/v1/users/me').set(bearer(bystander.accessToken)).expect(200);
    const again = await signIn(t, user.email, user.password);
    await t.http().get('/api/v1/users/me').set(bearer(again.accessToken)).expect(200);
    expect((await query(t.databaseUrl, 'SELECT status FROM users WHERE id = $1', [user.id]))[0].status).toBe('active');
  });

  it('DELETE with nothing to end is still 204, and records nothing', async () => {
    const user = await registerUser(t.http);
    await endAll(user.id).expect(204);
    await endAll(user.id).expect(204);
    expect(await auditRows(t.databaseUrl, user.id, 'user.sessions_revoked')).toHaveLength(1);
    expect(await outboxEvents(t.databaseUrl, user.id, 'session.revoked')).toHaveLength(1);
  });

  it('DELETE is 404 USER_NOT_FOUND for an unknown user and 400 for a bad id', async () => {
    expectProblem(await endAll(MISSING_ID), 404, 'USER_NOT_FOUND');
    expectProblem(await endAll('12'), 400, 'VALIDATION_FAILED', ['id']);
  });
});
