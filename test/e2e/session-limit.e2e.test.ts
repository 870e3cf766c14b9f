import { registerUser } from '../factories/user.factory.js';
import { bearer, claimsOf, expectProblem, signIn } from '../utils/admin.js';
import { outboxEvents } from '../utils/outbox.js';
import { bootTestApp, query, type TestApp } from '../utils/test-app.js';

describe('MAX_SESSIONS_PER_USER (e2e)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await bootTestApp({ env: { MAX_SESSIONS_PER_USER: '3' } });
  });
  afterAll(() => t.close());

  const activeSessions = async (userId: string) =>
    (await query<{ id: string }>(t.databaseUrl, 'SELECT id FROM sessions WHERE user_id = $1 AND revoked_at IS NULL ORDER BY created_at', [userId])).map((r) => r.id);
  const works = async (tokens: { accessToken: string }) => (await t.http().get('/api/v1/users/me').set(bearer(tokens.accessToken))).status;

  it('a sign-in beyond the limit ends the oldest session: its tokens fail, session.revoked says session_limit', async () => {
    const user = await registerUser(t.http);
    const second = await signIn(t, user.email, user.password);
    const third = await signIn(t, user.email, user.password);
    expect(await activeSessions(user.id)).toHaveLength(3);
    expect(await outboxEvents(t.databaseUrl, user.id, 'session.revoked')).toHaveLength(0);

    const fourth = await signIn(t, user.email, user.password);
    expect(await activeSessions(user.id)).toEqual([second, third, fourth].map((s) => claimsOf(s.accessToken).sid));
    expect(await works(user)).toBe(401);
    expectProblem(await t.http().post('/api/v1/auth/refresh').send({ refreshToken: user.refreshToken }), 401, 'UNAUTHENTICATED');
    expect(await Promise.all([second, third, fourth].map(works))).toEqual([200, 200, 200]);
    const [revoked, ...more] = await outboxEvents(t.databaseUrl, user.id, 'session.revoked');
    expect(more).toHaveLength(0);
    expect(revoked.payload).toMatchObject({ userId: user.id, sessionId: claimsOf(user.accessToken).sid, reason: 'session_limit', accessTokenExpiresAt: expect.any(String) });
    const [row] = await query(t.databaseUrl, 'SELECT revoked_reason FROM sessions WHERE id = $1', [claimsOf(user.accessToken).sid]);
    expect(row.revoked_reason).toBe('session_limit');

    // And the next one ends the next oldest; refreshing does not count as a sign-in.
    await t.http().post('/api/v1/auth/refresh').send({ refreshToken: second.refreshToken }).expect(200);
    await signIn(t, user.email, user.password);
    expect(await works(second)).toBe(401);
    expect(await activeSessions(user.id)).toHaveLength(3);
  });

  it('ended sessions do not count towards the limit', async () => {
    const user = await registerUser(t.http);
    const second = await signIn(t, user.email, user.password);
    await t.http().post('/api/v1/auth/logout').set(bearer(second.accessToken)).expect(204);
    await signIn(t, user.email, user.password);
    await signIn(t, user.email, user.password);
    expect(await works(user)).toBe(200);
    expect(await outboxEvents(t.databaseUrl, user.id, 'session.revoked')).toHaveLength(1);
  });

  it('10 concurrent sign-ins of one user leave exactly 3 active sessions, and the others say why they ended', async () => {
    const user = await registerUser(t.http);
    const logins = await Promise.all(Array.from({ length: 10 }, () => t.http().post('/api/v1/auth/login').send({ email: user.email, password: user.password })));
    expect(logins.map((r) => r.status)).toEqual(Array(10).fill(200));
    const active = await activeSessions(user.id);
    expect(active).toHaveLength(3);
    const revoked = await outboxEvents(t.databaseUrl, user.id, 'session.revoked');
    expect(revoked).toHaveLength(11 - 3);
    expect(new Set(revoked.map((e) => e.payload.reason))).toEqual(new Set(['session_limit']));
    // Which three survive depends on the order the sign-ins took turns; the tokens that work are exactly theirs.
    const statuses = await Promise.all(logins.map((r) => works(r.body)));
    expect(statuses.filter((s) => s === 401)).toHaveLength(7);
    const working = logins.filter((_, i) => statuses[i] === 200).map((r) => claimsOf(r.body.accessToken).sid);
    expect(working.sort()).toEqual(active.sort());
    expect(await works(user)).toBe(401);
  });
});
