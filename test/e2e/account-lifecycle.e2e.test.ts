import { registerUser } from '../factories/user.factory.js';
import { mailedToken, outboxEvents, waitFor } from '../utils/outbox.js';
import { bootTestApp, query, type TestApp } from '../utils/test-app.js';

const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });

describe('Account lifecycle (e2e, events recorded in the outbox)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await bootTestApp({ env: { RATE_LIMIT_VERIFICATION_RESEND_LIMIT: '2' } });
  });
  afterAll(() => t.close());

  const login = (email: string, password: string) => t.http().post('/api/v1/auth/login').send({ email, password });

  describe('email verification', () => {
    it('registration records user.created and a verification request; the token verifies once', async () => {
      const user = await registerUser(t.http);
      const events = await outboxEvents(t.databaseUrl, user.id);
      expect(events.map((e) => e.name)).toEqual(['user.created', 'user.email_verification_requested']);
      expect(events[0].payload).toMatchObject({ eventId: expect.any(String), occurredAt: expect.any(String), user: { id: user.id, email: user.email } });
      const request = events[1].payload;
      expect(request).toMatchObject({ userId: user.id, email: user.email, name: expect.any(String), token: expect.any(String) });
      const hoursValid = (new Date(request.expiresAt as string).getTime() - Date.now()) / 3_600_000;
      expect(hoursValid).toBeGreaterThan(23.9);
      expect(hoursValid).toBeLessThanOrEqual(24);
      expect(Buffer.from(request.token as string, 'base64url').length).toBeGreaterThanOrEqual(16);
      const stored = await query(t.databaseUrl, "SELECT token_hash FROM user_tokens WHERE user_id = $1 AND purpose = 'email_verification'", [user.id]);
      expect(stored).toHaveLength(1);
      expect((stored[0].token_hash as Buffer).toString('base64url')).not.toBe(request.token);

      await t.http().post('/api/v1/auth/verify-email').send({ token: request.token }).expect(204);
      const me = await t.http().get('/api/v1/users/me').set(bearer(user.accessToken)).expect(200);
      expect(me.body.emailVerified).toBe(true);
      expect((await outboxEvents(t.databaseUrl, user.id, 'user.email_verified'))[0].payload).toMatchObject({ userId: user.id });

      const again = await t.http().post('/api/v1/auth/verify-email').send({ token: request.token }).expect(400);
      expect(again.body.code).toBe('TOKEN_INVALID');
    });

    it('rejects unknown and expired tokens, and a new token makes the old one invalid', async () => {
      const unknown = await t.http().post('/api/v1/auth/verify-email').send({ token: 'nope' }).expect(400);
      expect(unknown.body.code).toBe('TOKEN_INVALID');
      await t.http().post('/api/v1/auth/verify-email').send({}).expect(400);

      const user = await registerUser(t.http);
      const first = await mailedToken(t.databaseUrl, user.id, 'user.email_verification_requested');
      await t.http().post('/api/v1/auth/verify-email/resend').set(bearer(user.accessToken)).expect(202);
      const second = await mailedToken(t.databaseUrl, user.id, 'user.email_verification_requested');
      expect(second).not.toBe(first);
      expect((await t.http().post('/api/v1/auth/verify-email').send({ token: first }).expect(400)).body.code).toBe('TOKEN_INVALID');

      await query(t.databaseUrl, "UPDATE user_tokens SET expires_at = now() - interval '1 second' WHERE user_id = $1", [user.id]);
      expect((await t.http().post('/api/v1/auth/verify-email').send({ token: second }).expect(400)).body.code).toBe('TOKEN_EXPIRED');
    });

    it('resend needs a token, is throttled per user, and sends nothing once verified', async () => {
      await t.http().post('/api/v1/auth/verify-email/resend').expect(401);
      const user = await registerUser(t.http);
      await t.http().post('/api/v1/auth/verify-email/resend').set(bearer(user.accessToken)).expect(202);
      await t.http().post('/api/v1/auth/verify-email/resend').set(bearer(user.accessToken)).expect(202);
      const limited = await t.http().post('/api/v1/auth/verify-email/resend').set(bearer(user.accessToken)).expect(429);
      expect(limited.body.code).toBe('RATE_LIMITED');
      // Another user is not affected by this one's limit.
      const other = await registerUser(t.http);
      await t.http().post('/api/v1/auth/verify-email/resend').set(bearer(other.accessToken)).expect(202);

      const token = await mailedToken(t.databaseUrl, other.id, 'user.email_verification_requested');
      await t.http().post('/api/v1/auth/verify-email').send({ token }).expect(204);
      const before = (await outboxEvents(t.databaseUrl, other.id, 'user.email_verification_requested')).length;
      await t.http().post('/api/v1/auth/verify-email/resend').set(bearer(other.accessToken)).expect(202);
      expect(await outboxEvents(t.databaseUrl, other.id, 'user.email_verification_requested')).toHaveLength(before);
    });
  });

  describe('password recovery', () => {
    it('forgot answers 202 alike for known and unknown emails; only a known one gets a reset token', async () => {
      const user = await registerUser(t.http);
      const known = await t.http().post('/api/v1/auth/password/forgot').send({ email: user.email.toUpperCase() }).expect(202);
      const unknown = await t.http().post('/api/v1/auth/password/forgot').send({ email: 'nobody-here@example.com' }).expect(202);
      expect(known.text).toBe(unknown.text);
      const [event] = await waitFor(async () => {
        const found = await outboxEvents(t.databaseUrl, user.id, 'user.password_reset_requested');
        return found.length ? found : undefined;
      });
      expect(event.payload).toMatchObject({ userId: user.id, email: user.email, token: expect.any(String) });
      const minutesValid = (new Date(event.payload.expiresAt as string).getTime() - Date.now()) / 60_000;
      expect(minutesValid).toBeGreaterThan(59);
      expect(minutesValid).toBeLessThanOrEqual(60);
      await t.http().post('/api/v1/auth/password/forgot').send({ email: 'not-an-email' }).expect(400);
    });

    it('reset sets the new password once, ends every session, and enforces the policy', async () => {
      const user = await registerUser(t.http);
      const other = await login(user.email, user.password).expect(200);
      await t.http().post('/api/v1/auth/password/forgot').send({ email: user.email }).expect(202);
      const token = await waitFor(() => mailedToken(t.databaseUrl, user.id, 'user.password_reset_requested').catch(() => undefined));

      const weak = await t.http().post('/api/v1/auth/password/reset').send({ token, newPassword: 'password' }).expect(400);
      expect(weak.body.errors).toEqual([{ field: 'newPassword', message: expect.any(String) }]);
      await t.http().post('/api/v1/auth/password/reset').send({ token, newPassword: 'Brand-new-secret-42' }).expect(204);

      for (const access of [user.accessToken, other.body.accessToken]) {
        await t.http().get('/api/v1/users/me').set(bearer(access)).expect(401);
      }
      await t.http().post('/api/v1/auth/refresh').send({ refreshToken: user.refreshToken }).expect(401);
      await login(user.email, user.password).expect(401);
      await login(user.email, 'Brand-new-secret-42').expect(200);
      const reused = await t.http().post('/api/v1/auth/password/reset').send({ token, newPassword: 'Another-secret-43' }).expect(400);
      expect(reused.body.code).toBe('TOKEN_INVALID');

      const names = (await outboxEvents(t.databaseUrl, user.id)).map((e) => e.name);
      expect(names).toEqual(expect.arrayContaining(['user.password_changed', 'session.revoked']));
      const revoked = await outboxEvents(t.databaseUrl, user.id, 'session.revoked');
      expect(revoked).toHaveLength(2);
      expect(revoked[0].payload).toMatchObject({ userId: user.id, sessionId: expect.any(String), reason: 'password_reset', accessTokenExpiresAt: expect.any(String) });
    });

    it('an expired reset token is refused', async () => {
      const user = await registerUser(t.http);
      await t.http().post('/api/v1/auth/password/forgot').send({ email: user.email }).expect(202);
      const token = await waitFor(() => mailedToken(t.databaseUrl, user.id, 'user.password_reset_requested').catch(() => undefined));
      await query(t.databaseUrl, "UPDATE user_tokens SET expires_at = now() - interval '1 second' WHERE user_id = $1 AND purpose = 'password_reset'", [user.id]);
      const expired = await t.http().post('/api/v1/auth/password/reset').send({ token, newPassword: 'Brand-new-secret-42' }).expect(400);
      expect(expired.body.code).toBe('TOKEN_EXPIRED');
      await login(user.email, user.password).expect(200);
    });
  });

  describe('POST /users/me/password', () => {
    it('checks the current password, keeps this session and ends the others', async () => {
      const user = await registerUser(t.http);
      const other = await login(user.email, user.password).expect(200);

      const wrong = await t.http().post('/api/v1/users/me/password').set(bearer(user.accessToken)).send({ currentPassword: 'Not-it-123', newPassword: 'Brand-new-secret-42' }).expect(400);
      expect(wrong.body).toMatchObject({ code: 'INVALID_CURRENT_PASSWORD', errors: [{ field: 'currentPassword', message: 'is incorrect' }] });
      const same = await t.http().post('/api/v1/users/me/password').set(bearer(user.accessToken)).send({ currentPassword: user.password, newPassword: user.password }).expect(400);
      expect(same.body.errors).toEqual([{ field: 'newPassword', message: 'must differ from the current password' }]);
      await t.http().post('/api/v1/users/me/password').set(bearer(user.accessToken)).send({ currentPassword: user.password, newPassword: '12345678' }).expect(400);

      await t.http().post('/api/v1/users/me/password').set(bearer(user.accessToken)).send({ currentPassword: user.password, newPassword: 'Brand-new-secret-42' }).expect(204);
      await t.http().get('/api/v1/users/me').set(bearer(user.accessToken)).expect(200);
      await t.http().get('/api/v1/users/me').set(bearer(other.body.accessToken)).expect(401);
      await t.http().post('/api/v1/auth/refresh').send({ refreshToken: other.body.refreshToken }).expect(401);
      await t.http().post('/api/v1/auth/refresh').send({ refreshToken: user.refreshToken }).expect(200);
      await login(user.email, 'Brand-new-secret-42').expect(200);

      const events = await outboxEvents(t.databaseUrl, user.id);
      expect(events.filter((e) => e.name === 'user.password_changed')).toHaveLength(1);
      const revoked = events.filter((e) => e.name === 'session.revoked');
      expect(revoked.map((e) => e.payload.reason)).toEqual(['password_change']);
    });
  });

  describe('DELETE /users/me', () => {
    it('deactivates: every session ends, sign-in is refused, events say so', async () => {
      const user = await registerUser(t.http);
      const other = await login(user.email, user.password).expect(200);
      await t.http().post('/api/v1/auth/password/forgot').send({ email: user.email }).expect(202);
      const resetToken = await waitFor(() => mailedToken(t.databaseUrl, user.id, 'user.password_reset_requested').catch(() => undefined));
      await t.http().delete('/api/v1/users/me').set(bearer(user.accessToken)).expect(204);
      // A reset link mailed before the deactivation does not reopen the account.
      const reset = await t.http().post('/api/v1/auth/password/reset').send({ token: resetToken, newPassword: 'Brand-new-secret-42' }).expect(400);
      expect(reset.body.code).toBe('TOKEN_INVALID');
      for (const access of [user.accessToken, other.body.accessToken]) await t.http().get('/api/v1/users/me').set(bearer(access)).expect(401);
      await t.http().post('/api/v1/auth/refresh').send({ refreshToken: other.body.refreshToken }).expect(401);
      expect((await login(user.email, user.password).expect(403)).body.code).toBe('ACCOUNT_DEACTIVATED');
      const [row] = await query(t.databaseUrl, 'SELECT status FROM users WHERE id = $1', [user.id]);
      expect(row.status).toBe('deactivated');

      const names = (await outboxEvents(t.databaseUrl, user.id)).map((e) => e.name);
      expect(names).toEqual(expect.arrayContaining(['user.status_changed', 'user.deleted', 'session.revoked']));
      expect((await outboxEvents(t.databaseUrl, user.id, 'user.status_changed'))[0].payload).toMatchObject({ userId: user.id, status: 'deactivated', until: null });
      // A deactivated account gets no new reset link.
      await t.http().post('/api/v1/auth/password/forgot').send({ email: user.email }).expect(202);
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(await outboxEvents(t.databaseUrl, user.id, 'user.password_reset_requested')).toHaveLength(1);
    });
  });

  describe('GET /users/me/export', () => {
    it('holds the profile, preferences, sessions (ended ones too) and audit entries about the user', async () => {
      const user = await registerUser(t.http);
      const second = await login(user.email, user.password).expect(200);
      await t.http().post('/api/v1/auth/logout').set(bearer(second.body.accessToken)).expect(204);
      await t.http().patch('/api/v1/users/me/preferences').set(bearer(user.accessToken)).send({ language: 'fr' }).expect(200);
      await query(t.databaseUrl, "INSERT INTO audit_entries (actor_id, action, target_id, reason) VALUES (NULL, 'user.status_changed', $1, 'test')", [user.id]);

      const { body } = await t.http().get('/api/v1/users/me/export').set(bearer(user.accessToken)).expect(200);
      expect(body.profile).toMatchObject({ id: user.id, email: user.email });
      expect(body.preferences).toMatchObject({ language: 'fr', emailNotifications: true });
      expect(body.sessions).toHaveLength(2);
      expect(body.sessions.find((s: { revokedReason: string | null }) => s.revokedReason === 'logout')).toBeDefined();
      expect(body.auditEntries).toEqual([expect.objectContaining({ action: 'user.status_changed', reason: 'test' })]);
      expect(JSON.stringify(body)).not.toMatch(/password|hash|refreshToken|accessToken|\$2[aby]\$/i);
    });
  });

  describe('PATCH /users/me records user.updated with the changed fields', () => {
    it('names only fields whose value changed', async () => {
      const user = await registerUser(t.http);
      await t.http().patch('/api/v1/users/me').set(bearer(user.accessToken)).send({ name: 'New Name', mobile: null }).expect(200);
      await t.http().patch('/api/v1/users/me').set(bearer(user.accessToken)).send({ name: 'New Name' }).expect(200);
      const updated = await outboxEvents(t.databaseUrl, user.id, 'user.updated');
      expect(updated).toHaveLength(1);
      expect(updated[0].payload).toMatchObject({ changed: ['name'], user: { id: user.id, name: 'New Name' } });
    });
  });
});
