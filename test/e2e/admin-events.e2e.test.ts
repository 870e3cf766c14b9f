import { UsersService } from '../../src/modules/users/users.service.js';
import { buildRegistration, registerUser } from '../factories/user.factory.js';
import { bearer, claimsOf, createAdmin, fromNow, signIn } from '../utils/admin.js';
import { type CollectedEvent, EventCollector } from '../utils/event-collector.js';
import { bootTestApp, describeWithRabbitMq, query, rabbitmqUrl, type TestApp } from '../utils/test-app.js';

const envelope = (correlationId: string | null) => ({ eventId: expect.any(String), occurredAt: expect.any(String), correlationId });

describeWithRabbitMq('Admin: the events each change publishes (e2e, RabbitMQ)', () => {
  let t: TestApp;
  let collector: EventCollector;
  let adminToken: string;
  beforeAll(async () => {
    t = await bootTestApp({ env: { RABBITMQ_URL: rabbitmqUrl(), MAX_SESSIONS_PER_USER: '2' } });
    collector = await EventCollector.start(rabbitmqUrl()!, t.config.messaging.eventsExchange);
    adminToken = (await createAdmin(t)).accessToken;
  });
  afterAll(async () => {
    await collector.stop();
    await t.close();
  });

  const admin = <T extends { set: (name: string, value: string) => T }>(request: T, correlationId: string) =>
    request.set('Authorization', `Bearer ${adminToken}`).set('X-Correlation-ID', correlationId);
  const published = (userId: string, pattern: string) => collector.about(userId).filter((e) => e.pattern === pattern);
  /** Waits until the user's events include this one; a user's events arrive in commit order. */
  const arrived = async (userId: string, pattern: string, count = 1): Promise<CollectedEvent[]> => {
    await collector.waitFor(() => published(userId, pattern).length >= count);
    return published(userId, pattern);
  };

  it('user.created on create, once however often an Idempotency-Key repeat comes', async () => {
    const body = { ...buildRegistration(), role: 'admin' };
    const first = await admin(t.http().post('/api/v1/admin/users'), 'evt-create').set('Idempotency-Key', 'evt-create-key').send(body).expect(201);
    await admin(t.http().post('/api/v1/admin/users'), 'evt-create-again').set('Idempotency-Key', 'evt-create-key').send(body).expect(201);
    const id = first.body.id as string;
    // A later event of the same user: anything the repeat published would have come before it.
    await admin(t.http().patch(`/api/v1/admin/users/${id}/role`), 'evt-after-create').send({ role: 'user' }).expect(200);
    await arrived(id, 'user.role_changed');
    const [created, ...again] = published(id, 'user.created');
    expect(again).toHaveLength(0);
    expect(created).toMatchObject({ routingKey: 'user.created', persistent: true, headers: { 'x-correlation-id': 'evt-create' } });
    const { statusReason: _reason, statusUntil: _until, ...contractUser } = first.body;
    expect(created.data).toEqual({ ...envelope('evt-create'), user: contractUser });
    expect(contractUser).toMatchObject({ id, email: body.email, role: 'admin', status: 'active' });
  });

  it('blocking: user.status_changed, and session.revoked (reason admin) for each session it ended', async () => {
    const user = await registerUser(t.http);
    const other = await signIn(t, user.email, user.password);
    await admin(t.http().patch(`/api/v1/admin/users/${user.id}/status`), 'evt-block').send({ status: 'blocked', reason: 'Card testing' }).expect(200);
    const [changed] = await arrived(user.id, 'user.status_changed');
    expect(changed.data).toEqual({ ...envelope('evt-block'), userId: user.id, status: 'blocked', reason: 'Card testing', until: null });
    const revoked = await arrived(user.id, 'session.revoked', 2);
    expect(revoked.map((e) => e.data.sessionId).sort()).toEqual([user, other].map((s) => claimsOf(s.accessToken).sid).sort());
    for (const event of revoked) {
      expect(event.data).toEqual({ ...envelope('evt-block'), userId: user.id, sessionId: expect.any(String), reason: 'admin', accessTokenExpiresAt: expect.any(String) });
      // No access token of the session outlives this (the gateway denies the session until then).
      expect(new Date(event.data.accessTokenExpiresAt as string).getTime()).toBeGreaterThanOrEqual(claimsOf(user.accessToken).exp * 1000 - 1000);
    }
  });

  it('suspending: user.status_changed with until; lifting it (the sweep): status active', async () => {
    const user = await registerUser(t.http);
    const until = fromNow(3_600);
    await admin(t.http().patch(`/api/v1/admin/users/${user.id}/status`), 'evt-suspend').send({ status: 'suspended', reason: 'Cool down', until }).expect(200);
    const [suspended] = await arrived(user.id, 'user.status_changed');
    expect(suspended.data).toEqual({ ...envelope('evt-suspend'), userId: user.id, status: 'suspended', reason: 'Cool down', until });
    expect((await arrived(user.id, 'session.revoked'))[0].data).toMatchObject({ reason: 'admin', sessionId: claimsOf(user.accessToken).sid });

    await query(t.databaseUrl, "UPDATE users SET status_until = now() - interval '1 second' WHERE id = $1", [user.id]);
    await t.app.get(UsersService).liftLapsedSuspensions();
    const [, lifted] = await arrived(user.id, 'user.status_changed', 2);
    expect(lifted.data).toMatchObject({ userId: user.id, status: 'active', reason: 'suspension ended', until: null });
  });

  it('role changes: user.role_changed each way; the demotion ends the sessions (session.revoked reason admin)', async () => {
    const user = await registerUser(t.http);
    await admin(t.http().patch(`/api/v1/admin/users/${user.id}/role`), 'evt-promote').send({ role: 'admin' }).expect(200);
    await admin(t.http().patch(`/api/v1/admin/users/${user.id}/role`), 'evt-demote').send({ role: 'user' }).expect(200);
    const changes = await arrived(user.id, 'user.role_changed', 2);
    expect(changes.map((e) => e.data)).toEqual([
      { ...envelope('evt-promote'), userId: user.id, role: 'admin' },
      { ...envelope('evt-demote'), userId: user.id, role: 'user' },
    ]);
    const [revoked] = await arrived(user.id, 'session.revoked');
    expect(revoked.data).toMatchObject({ correlationId: 'evt-demote', reason: 'admin', sessionId: claimsOf(user.accessToken).sid });
  });

  it('DELETE /admin/users/:id/sessions: session.revoked (reason admin) for each', async () => {
    const user = await registerUser(t.http);
    const other = await signIn(t, user.email, user.password);
    await admin(t.http().delete(`/api/v1/admin/users/${user.id}/sessions`), 'evt-end-sessions').expect(204);
    const revoked = await arrived(user.id, 'session.revoked', 2);
    expect(revoked.map((e) => [e.data.sessionId, e.data.reason, e.data.correlationId]).sort()).toEqual(
      [user, other].map((s) => [claimsOf(s.accessToken).sid, 'admin', 'evt-end-sessions']).sort(),
    );
  });

  it('a sign-in beyond MAX_SESSIONS_PER_USER: session.revoked with reason session_limit for the oldest', async () => {
    const user = await registerUser(t.http);
    await signIn(t, user.email, user.password);
    await t.http().post('/api/v1/auth/login').set('X-Correlation-ID', 'evt-limit').send({ email: user.email, password: user.password }).expect(200);
    const [revoked] = await arrived(user.id, 'session.revoked');
    expect(revoked.data).toEqual({ ...envelope('evt-limit'), userId: user.id, sessionId: claimsOf(user.accessToken).sid, reason: 'session_limit', accessTokenExpiresAt: expect.any(String) });
    await t.http().get('/api/v1/users/me').set(bearer(user.accessToken)).expect(401);
  });
});
