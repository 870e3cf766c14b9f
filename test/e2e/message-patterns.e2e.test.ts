import { JwtService } from '@nestjs/jwt';

import { UserServicePatterns, type User, type VerifyTokenReply } from '../../src/client-kit/user-service.messages.js';
import { registerUser } from '../factories/user.factory.js';
import { createAdmin } from '../utils/admin.js';
import { bootTestApp, describeWithRabbitMq, rabbitmqUrl, type TestApp } from '../utils/test-app.js';
import { signWithTestKey } from '../utils/test-tokens.js';
import { UserServiceClient } from '../utils/user-service-client.js';

describeWithRabbitMq('Message patterns over RabbitMQ (e2e, through the client kit)', () => {
  let t: TestApp;
  let client: UserServiceClient;
  beforeAll(async () => {
    t = await bootTestApp({ env: { RABBITMQ_URL: rabbitmqUrl() } });
    client = await UserServiceClient.connect(rabbitmqUrl()!, t.config.messaging.serviceQueue);
  });
  afterAll(async () => {
    await client?.close();
    await t?.close();
  });

  describe('users.get', () => {
    it('answers the user as GET /users/me does, and null for an unknown id', async () => {
      const user = await registerUser(t.http);
      const me = await t.http().get('/api/v1/users/me').set('Authorization', `Bearer ${user.accessToken}`).expect(200);
      await expect(client.send<User>(UserServicePatterns.usersGet, { id: user.id })).resolves.toEqual(me.body);
      await expect(client.send(UserServicePatterns.usersGet, { id: user.id.toUpperCase() })).resolves.toEqual(me.body);
      await expect(client.send(UserServicePatterns.usersGet, { id: '00000000-0000-4000-8000-000000000000' })).resolves.toBeNull();
    });

    it('sees a profile change at once (the cache is invalidated, as for HTTP)', async () => {
      const user = await registerUser(t.http);
      await client.send(UserServicePatterns.usersGet, { id: user.id });
      await t.http().patch('/api/v1/users/me').set('Authorization', `Bearer ${user.accessToken}`).send({ name: 'Renamed Person' }).expect(200);
      await expect(client.send<User>(UserServicePatterns.usersGet, { id: user.id })).resolves.toMatchObject({ name: 'Renamed Person' });
    });

    it.each([
      ['a bad id', { id: 'not-a-uuid' }, 'id'],
      ['no id', {}, 'id'],
      ['an unknown field', { id: '00000000-0000-4000-8000-000000000000', role: 'admin' }, 'role'],
      ['a NUL character', { id: '\u0000' }, 'id'],
    ])('refuses %s with VALIDATION_FAILED and the field', async (_case, payload, field) => {
      const error = await client.failureOf(UserServicePatterns.usersGet, payload);
      expect(error).toMatchObject({ code: 'VALIDATION_FAILED', message: expect.any(String) });
      expect(error.errors?.map((e) => e.field)).toContain(field);
    });

    it.each([
      ['a string', 'just text'],
      ['an array', [1, 2]],
      ['a number', 42],
    ])('refuses a payload that is %s with VALIDATION_FAILED, never a crash', async (_case, payload) => {
      const error = await client.failureOf(UserServicePatterns.usersGet, payload);
      expect(error).toMatchObject({ code: 'VALIDATION_FAILED' });
      // The service is still there for the next request.
      await expect(client.send(UserServicePatterns.usersGet, { id: '00000000-0000-4000-8000-000000000000' })).resolves.toBeNull();
    });
  });

  describe('users.get_many', () => {
    it('answers the users found in request order, skipping unknown ids', async () => {
      const [a, b, c] = [await registerUser(t.http), await registerUser(t.http), await registerUser(t.http)];
      // One of them cached already, the others not: both paths in one answer.
      await client.send(UserServicePatterns.usersGet, { id: b.id });
      const unknown = '00000000-0000-4000-8000-000000000001';
      const users = await client.send<User[]>(UserServicePatterns.usersGetMany, { ids: [c.id, unknown, a.id, b.id] });
      expect(users.map((user) => user.id)).toEqual([c.id, a.id, b.id]);
      expect(users[0]).toMatchObject({ id: c.id, email: c.email, status: 'active', role: 'user' });
      expect(users[0]).not.toHaveProperty('passwordHash');
      await expect(client.send(UserServicePatterns.usersGetMany, { ids: [] })).resolves.toEqual([]);
    });

    it('takes 100 ids and refuses 101, or ids that are not UUIDs', async () => {
      const user = await registerUser(t.http);
      const hundred = Array.from({ length: 99 }, (_, i) => `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`);
      await expect(client.send<User[]>(UserServicePatterns.usersGetMany, { ids: [...hundred, user.id] })).resolves.toHaveLength(1);
      const tooMany = await client.failureOf(UserServicePatterns.usersGetMany, { ids: [...hundred, user.id, user.id] });
      expect(tooMany).toMatchObject({ code: 'VALIDATION_FAILED', errors: [{ field: 'ids', message: 'must hold at most 100 ids' }] });
      const notUuids = await client.failureOf(UserServicePatterns.usersGetMany, { ids: [user.id, 'x'] });
      expect(notUuids.code).toBe('VALIDATION_FAILED');
      const notArray = await client.failureOf(UserServicePatterns.usersGetMany, { ids: user.id });
      expect(notArray.code).toBe('VALIDATION_FAILED');
    });
  });

  describe('preferences.get', () => {
    it("answers the user's preferences (defaults first, then changes), and null for an unknown user", async () => {
      const user = await registerUser(t.http);
      await expect(client.send(UserServicePatterns.preferencesGet, { userId: user.id })).resolves.toEqual({
        emailNotifications: true,
        pushNotifications: true,
        smsNotifications: false,
        marketingEmails: false,
        language: 'en',
        timezone: 'UTC',
        pushToken: null,
      });
      await t.http()
        .patch('/api/v1/users/me/preferences')
        .set('Authorization', `Bearer ${user.accessToken}`)
        .send({ language: 'de-DE', smsNotifications: true })
        .expect(200);
      await expect(client.send(UserServicePatterns.preferencesGet, { userId: user.id })).resolves.toMatchObject({
        language: 'de-DE',
        smsNotifications: true,
      });
      await expect(client.send(UserServicePatterns.preferencesGet, { userId: '00000000-0000-4000-8000-000000000002' })).resolves.toBeNull();
      await expect(client.failureOf(UserServicePatterns.preferencesGet, { id: user.id })).resolves.toMatchObject({ code: 'VALIDATION_FAILED' });
    });
  });

  describe('auth.verify_token', () => {
    const verify = (token: string) => client.send<VerifyTokenReply>(UserServicePatterns.verifyToken, { token });
    const signWith = (claims: Record<string, unknown>) => signWithTestKey(claims);

    it('answers valid with the user, role and session for a live token, twice alike (the second from the memo)', async () => {
      const user = await registerUser(t.http);
      const sid = JSON.parse(Buffer.from(user.accessToken.split('.')[1]!, 'base64url').toString()).sid as string;
      const expected = { valid: true, userId: user.id, role: 'user', sessionId: sid };
      await expect(verify(user.accessToken)).resolves.toEqual(expected);
      await expect(verify(user.accessToken)).resolves.toEqual(expected);
    });

    it('expired: a token we signed whose exp has passed', async () => {
      const user = await registerUser(t.http);
      const claims = JSON.parse(Buffer.from(user.accessToken.split('.')[1]!, 'base64url').toString()) as Record<string, unknown>;
      const now = Math.floor(Date.now() / 1000);
      await expect(verify(signWith({ ...claims, iat: now - 120, exp: now - 60 }))).resolves.toEqual({ valid: false, reason: 'expired' });
    });

    it('tampered: a changed payload or signature, a foreign key, a wrong audience, or not a JWT at all', async () => {
      const user = await registerUser(t.http);
      const [header, payload, signature] = user.accessToken.split('.') as [string, string, string];
      const claims = JSON.parse(Buffer.from(payload, 'base64url').toString()) as Record<string, unknown>;
      const promoted = Buffer.from(JSON.stringify({ ...claims, role: 'admin' })).toString('base64url');
      const flipped = signature.slice(0, -2) + (signature.endsWith('AA') ? 'BB' : 'AA');
      const foreign = new JwtService({ secret: 'a shared secret', signOptions: { algorithm: 'HS256' } }).sign(claims);
      const wrongAudience = signWith({ ...claims, aud: 'someone-else' });
      for (const token of [`${header}.${promoted}.${signature}`, `${header}.${payload}.${flipped}`, foreign, wrongAudience, 'not.a.jwt', 'x']) {
        await expect(verify(token)).resolves.toEqual({ valid: false, reason: 'tampered' });
      }
      await expect(client.failureOf(UserServicePatterns.verifyToken, { token: '' })).resolves.toMatchObject({ code: 'VALIDATION_FAILED' });
      await expect(client.failureOf(UserServicePatterns.verifyToken, { token: 42 })).resolves.toMatchObject({ code: 'VALIDATION_FAILED' });
    });

    it('logged_out after a logout, revoked after the session was ended otherwise', async () => {
      const user = await registerUser(t.http);
      await t.http().post('/api/v1/auth/logout').set('Authorization', `Bearer ${user.accessToken}`).send({ refreshToken: user.refreshToken }).expect(204);
      await expect(verify(user.accessToken)).resolves.toEqual({ valid: false, reason: 'logged_out' });

      const other = await registerUser(t.http);
      const second = await t.http().post('/api/v1/auth/login').send({ email: other.email, password: other.password }).expect(200);
      // A password change ends every other session of the user.
      await t.http()
        .post('/api/v1/users/me/password')
        .set('Authorization', `Bearer ${second.body.accessToken}`)
        .send({ currentPassword: other.password, newPassword: `${other.password}-new` })
        .expect(204);
      await expect(verify(other.accessToken)).resolves.toEqual({ valid: false, reason: 'revoked' });
    });

    it.each([
      ['blocked', { status: 'blocked', reason: 'fraud' }],
      ['suspended', { status: 'suspended', reason: 'chargebacks', until: new Date(Date.now() + 86_400_000).toISOString() }],
    ])('%s: the account was %s by an admin', async (reason, change) => {
      const admin = await signInAsAdmin();
      const user = await registerUser(t.http);
      await t.http().patch(`/api/v1/admin/users/${user.id}/status`).set('Authorization', `Bearer ${admin}`).send(change).expect(200);
      await expect(verify(user.accessToken)).resolves.toEqual({ valid: false, reason });
    });

    it('deactivated: the user closed the account', async () => {
      const user = await registerUser(t.http);
      await t.http().delete('/api/v1/users/me').set('Authorization', `Bearer ${user.accessToken}`).expect(204);
      await expect(verify(user.accessToken)).resolves.toEqual({ valid: false, reason: 'deactivated' });
    });
  });

  it('answers a pattern it does not serve with an error reply (and keeps serving)', async () => {
    await expect(client.failureOf('users.delete_everything', { all: true })).resolves.toMatchObject({ code: 'NOT_FOUND' });
    await expect(client.send(UserServicePatterns.usersGet, { id: '00000000-0000-4000-8000-000000000000' })).resolves.toBeNull();
  });

  let adminToken: string | undefined;
  async function signInAsAdmin(): Promise<string> {
    adminToken ??= (await createAdmin(t)).accessToken;
    return adminToken;
  }
});
