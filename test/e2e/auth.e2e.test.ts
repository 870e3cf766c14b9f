import { createHash, createPublicKey, createVerify } from 'node:crypto';

import { registerUser } from '../factories/user.factory.js';
import { bootTestApp, query, type TestApp } from '../utils/test-app.js';
import { signWithTestKey } from '../utils/test-tokens.js';

describe('Auth (e2e, real PostgreSQL; Redis when present)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await bootTestApp({ env: { REFRESH_REUSE_GRACE_SECONDS: '2' } });
  });
  afterAll(() => t.close());

  const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });

  describe('POST /auth/register', () => {
    it('creates the account, stores the email lower-cased and signs in', async () => {
      const response = await t
        .http()
        .post('/api/v1/auth/register')
        .send({ email: '  Grace.Hopper@Example.COM ', password: 'Cobol-1959-compiler', name: 'Grace', mobile: '+15551234567' })
        .expect(201);
      expect(response.body.user).toEqual({
        id: expect.any(String),
        email: 'grace.hopper@example.com',
        name: 'Grace',
        mobile: '+15551234567',
        role: 'user',
        status: 'active',
        emailVerified: false,
        createdAt: expect.any(String),
        updatedAt: expect.any(String),
      });
      expect(response.body).toMatchObject({ tokenType: 'Bearer', expiresIn: 900 });
      expect(JSON.stringify(response.body)).not.toMatch(/password|hash/i);
      const [row] = await query(t.databaseUrl, 'SELECT email, password_hash FROM users WHERE id = $1', [response.body.user.id]);
      expect(row.email).toBe('grace.hopper@example.com');
      expect(row.password_hash).toMatch(/^\$2[aby]\$04\$/);
    });

    it('answers 409 EMAIL_TAKEN for an existing email in any case', async () => {
      const user = await registerUser(t.http);
      const response = await t
        .http()
        .post('/api/v1/auth/register')
        .send({ email: user.email.toUpperCase(), password: 'Another-pass-123', name: 'Dup' })
        .expect(409);
      expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(response.body.code).toBe('EMAIL_TAKEN');
    });

    it.each([
      ['short', 'Ab1'],
      ['all letters', 'abcdefghijkl'],
      ['all digits', '1234567890123'],
      ['commonly breached', 'password1'],
      ['too long', `Aa1${'x'.repeat(126)}`],
    ])('rejects a %s password with a field error', async (_label, password) => {
      const response = await t
        .http()
        .post('/api/v1/auth/register')
        .send({ email: 'weak@example.com', password, name: 'Weak' })
        .expect(400);
      expect(response.body).toMatchObject({ code: 'VALIDATION_FAILED', status: 400 });
      expect(response.body.errors).toEqual([{ field: 'password', message: expect.any(String) }]);
    });

    it('rejects fields a customer may not set', async () => {
      const response = await t
        .http()
        .post('/api/v1/auth/register')
        .send({ email: 'sneaky@example.com', password: 'Sturdy-pass-42', name: 'Sneaky', role: 'admin', emailVerified: true })
        .expect(400);
      expect(response.body.errors).toEqual(
        expect.arrayContaining([
          { field: 'role', message: 'is not allowed' },
          { field: 'emailVerified', message: 'is not allowed' },
        ]),
      );
      expect(await query(t.databaseUrl, "SELECT 1 FROM users WHERE email = 'sneaky@example.com'")).toHaveLength(0);
    });
  });

  describe('POST /auth/login', () => {
    it('signs in and issues an RS256 token the JWKS verifies, with the contract claims', async () => {
      const user = await registerUser(t.http);
      const response = await t.http().post('/api/v1/auth/login').send({ email: user.email, password: user.password }).expect(200);
      const { accessToken } = response.body;
      const [header, payload, signature] = accessToken.split('.');
      const decodedHeader = JSON.parse(Buffer.from(header, 'base64url').toString());
      const claims = JSON.parse(Buffer.from(payload, 'base64url').toString());
      expect(decodedHeader).toMatchObject({ alg: 'RS256', kid: expect.any(String) });
      expect(claims).toMatchObject({ sub: user.id, role: 'user', sid: expect.any(String), jti: expect.any(String), iss: 'user-service', aud: 'ecommerce-platform' });
      expect(claims.exp - claims.iat).toBe(900);

      const jwks = await t.http().get('/.well-known/jwks.json').expect(200);
      const jwk = jwks.body.keys.find((key: { kid: string }) => key.kid === decodedHeader.kid);
      expect(jwk).toMatchObject({ kty: 'RSA', alg: 'RS256', use: 'sig' });
      expect(jwk).not.toHaveProperty('d');
      const verifier = createVerify('RSA-SHA256').update(`${header}.${payload}`);
      expect(verifier.verify(createPublicKey({ key: jwk, format: 'jwk' }), Buffer.from(signature, 'base64url'))).toBe(true);
    });

    it('answers unknown email and wrong password alike', async () => {
      const user = await registerUser(t.http);
      const wrong = await t.http().post('/api/v1/auth/login').send({ email: user.email, password: 'Not-the-password-1' }).expect(401);
      const unknown = await t.http().post('/api/v1/auth/login').send({ email: 'nobody@example.com', password: 'Not-the-password-1' }).expect(401);
      const strip = ({ correlationId: _c, ...rest }: Record<string, unknown>) => rest;
      expect(strip(wrong.body)).toEqual(strip(unknown.body));
      expect(wrong.body.code).toBe('INVALID_CREDENTIALS');
    });

    it.each([
      ['blocked', 'ACCOUNT_BLOCKED'],
      ['suspended', 'ACCOUNT_SUSPENDED'],
      ['deactivated', 'ACCOUNT_DEACTIVATED'],
    ])('refuses a %s account with 403 %s (and only after the right password)', async (status, code) => {
      const user = await registerUser(t.http);
      await query(t.databaseUrl, 'UPDATE users SET status = $2 WHERE id = $1', [user.id, status]);
      await t.http().post('/api/v1/auth/login').send({ email: user.email, password: 'Wrong-password-9' }).expect(401);
      const response = await t.http().post('/api/v1/auth/login').send({ email: user.email, password: user.password }).expect(403);
      expect(response.body.code).toBe(code);
    });

    it('lets a user whose suspension has lapsed back in, and reactivates them', async () => {
      const user = await registerUser(t.http);
      await query(t.databaseUrl, "UPDATE users SET status = 'suspended', status_until = now() - interval '1 minute' WHERE id = $1", [user.id]);
      const response = await t.http().post('/api/v1/auth/login').send({ email: user.email, password: user.password }).expect(200);
      expect(response.body.user.status).toBe('active');
    });

    it('re-hashes a password stored at another bcrypt cost on the next login', async () => {
      const user = await registerUser(t.http);
      const { PasswordHasher } = await import('../../src/core/auth/password-hasher.js');
      const { loadConfig } = await import('../../src/core/config/config.js');
      const costFive = new PasswordHasher(loadConfig({ BCRYPT_COST: '5' }));
      await query(t.databaseUrl, 'UPDATE users SET password_hash = $2 WHERE id = $1', [user.id, await costFive.hash(user.password)]);
      await t.http().post('/api/v1/auth/login').send({ email: user.email, password: user.password }).expect(200);
      const [row] = await query(t.databaseUrl, 'SELECT password_hash FROM users WHERE id = $1', [user.id]);
      expect(row.password_hash).toMatch(/^\$2[aby]\$04\$/);
    });
  });

  describe('POST /auth/refresh', () => {
    it('rotates: a new pair, the session moves on, the old token is spent', async () => {
      const user = await registerUser(t.http);
      const response = await t.http().post('/api/v1/auth/refresh').send({ refreshToken: user.refreshToken }).expect(200);
      expect(response.body).toEqual({ accessToken: expect.any(String), refreshToken: expect.any(String), tokenType: 'Bearer', expiresIn: 900 });
      expect(response.body.refreshToken).not.toBe(user.refreshToken);
      await t.http().get('/api/v1/users/me').set(bearer(response.body.accessToken)).expect(200);
      // Stored only as SHA-256 hashes; the old one is marked spent.
      const sha256 = (token: string) => createHash('sha256').update(token).digest();
      const [old] = await query(t.databaseUrl, 'SELECT spent_at FROM refresh_tokens WHERE token_hash = $1', [sha256(user.refreshToken)]);
      expect(old.spent_at).toBeInstanceOf(Date);
      const [fresh] = await query(t.databaseUrl, 'SELECT spent_at FROM refresh_tokens WHERE token_hash = $1', [sha256(response.body.refreshToken)]);
      expect(fresh.spent_at).toBeNull();
    });

    it('gives concurrent refreshes with one token the same answer, and keeps the session', async () => {
      const user = await registerUser(t.http);
      const answers = await Promise.all(
        Array.from({ length: 5 }, () => t.http().post('/api/v1/auth/refresh').send({ refreshToken: user.refreshToken })),
      );
      expect(answers.map((a) => a.status)).toEqual([200, 200, 200, 200, 200]);
      expect(new Set(answers.map((a) => a.body.refreshToken)).size).toBe(1);
      expect(new Set(answers.map((a) => a.body.accessToken)).size).toBe(1);
      // The session survives: the one new token keeps working.
      await t.http().post('/api/v1/auth/refresh').send({ refreshToken: answers[0].body.refreshToken }).expect(200);
    });

    it('ends the session when a spent token comes back after the grace window', async () => {
      const user = await registerUser(t.http);
      const first = await t.http().post('/api/v1/auth/refresh').send({ refreshToken: user.refreshToken }).expect(200);
      await new Promise((resolve) => setTimeout(resolve, 2_300));
      const reused = await t.http().post('/api/v1/auth/refresh').send({ refreshToken: user.refreshToken }).expect(401);
      expect(reused.body.code).toBe('REFRESH_TOKEN_REUSED');
      // Every token of that session is now dead: the thief's and the victim's.
      await t.http().post('/api/v1/auth/refresh').send({ refreshToken: first.body.refreshToken }).expect(401);
      await t.http().get('/api/v1/users/me').set(bearer(first.body.accessToken)).expect(401);
      await t.http().get('/api/v1/users/me').set(bearer(user.accessToken)).expect(401);
      const [session] = await query(t.databaseUrl, 'SELECT revoked_reason FROM sessions WHERE user_id = $1', [user.id]);
      expect(session.revoked_reason).toBe('refresh_token_reuse');
    });

    it('refuses unknown tokens and malformed bodies', async () => {
      const unknown = await t.http().post('/api/v1/auth/refresh').send({ refreshToken: 'not-a-real-token' }).expect(401);
      expect(unknown.body.code).toBe('UNAUTHENTICATED');
      await t.http().post('/api/v1/auth/refresh').send({}).expect(400);
      await t.http().post('/api/v1/auth/refresh').send({ refreshToken: 42 }).expect(400);
    });

    it('refuses blocked users, and sessions past their idle or absolute expiry', async () => {
      const blocked = await registerUser(t.http);
      await query(t.databaseUrl, "UPDATE users SET status = 'blocked' WHERE id = $1", [blocked.id]);
      const refused = await t.http().post('/api/v1/auth/refresh').send({ refreshToken: blocked.refreshToken }).expect(403);
      expect(refused.body.code).toBe('ACCOUNT_BLOCKED');

      const idle = await registerUser(t.http);
      await query(t.databaseUrl, "UPDATE sessions SET last_used_at = now() - interval '31 days' WHERE user_id = $1", [idle.id]);
      await t.http().post('/api/v1/auth/refresh').send({ refreshToken: idle.refreshToken }).expect(401);

      const old = await registerUser(t.http);
      await query(t.databaseUrl, "UPDATE sessions SET expires_at = now() - interval '1 second' WHERE user_id = $1", [old.id]);
      await t.http().post('/api/v1/auth/refresh').send({ refreshToken: old.refreshToken }).expect(401);
    });
  });

  describe('sessions and sign-out', () => {
    it('logout stops that session’s access and refresh tokens at once, and no other', async () => {
      const user = await registerUser(t.http);
      const other = await t.http().post('/api/v1/auth/login').send({ email: user.email, password: user.password }).expect(200);
      await t.http().post('/api/v1/auth/logout').set(bearer(user.accessToken)).expect(204);
      await t.http().get('/api/v1/users/me').set(bearer(user.accessToken)).expect(401);
      await t.http().post('/api/v1/auth/refresh').send({ refreshToken: user.refreshToken }).expect(401);
      await t.http().get('/api/v1/users/me').set(bearer(other.body.accessToken)).expect(200);
    });

    it('logout-all ends every session of the user', async () => {
      const user = await registerUser(t.http);
      const second = await t.http().post('/api/v1/auth/login').send({ email: user.email, password: user.password }).expect(200);
      await t.http().post('/api/v1/auth/logout-all').set(bearer(second.body.accessToken)).expect(204);
      for (const token of [user.accessToken, second.body.accessToken]) {
        await t.http().get('/api/v1/users/me').set(bearer(token)).expect(401);
      }
      await t.http().post('/api/v1/auth/refresh').send({ refreshToken: user.refreshToken }).expect(401);
      await t.http().post('/api/v1/auth/refresh').send({ refreshToken: second.body.refreshToken }).expect(401);
    });

    it('lists active sessions with the current one marked, and revokes only your own', async () => {
      const user = await registerUser(t.http);
      const second = await t
        .http()
        .post('/api/v1/auth/login')
        .set('User-Agent', 'PhoneApp/2.1')
        .send({ email: user.email, password: user.password })
        .expect(200);
      const listed = await t.http().get('/api/v1/auth/sessions').set(bearer(second.body.accessToken)).expect(200);
      expect(listed.body).toHaveLength(2);
      const current = listed.body.find((s: { current: boolean }) => s.current);
      expect(current).toMatchObject({ userAgent: 'PhoneApp/2.1', ip: expect.any(String), createdAt: expect.any(String), lastUsedAt: expect.any(String) });
      const first = listed.body.find((s: { current: boolean }) => !s.current);

      const stranger = await registerUser(t.http);
      const foreign = await t.http().delete(`/api/v1/auth/sessions/${first.id}`).set(bearer(stranger.accessToken)).expect(404);
      expect(foreign.body.code).toBe('SESSION_NOT_FOUND');
      await t.http().get('/api/v1/users/me').set(bearer(user.accessToken)).expect(200);

      await t.http().delete(`/api/v1/auth/sessions/${first.id}`).set(bearer(second.body.accessToken)).expect(204);
      await t.http().get('/api/v1/users/me').set(bearer(user.accessToken)).expect(401);
      const after = await t.http().get('/api/v1/auth/sessions').set(bearer(second.body.accessToken)).expect(200);
      expect(after.body.map((s: { id: string }) => s.id)).toEqual([current.id]);
      await t.http().delete('/api/v1/auth/sessions/not-a-uuid').set(bearer(second.body.accessToken)).expect(400);
    });
  });

  it('prunes sessions that ended over 30 days ago, with their token hashes, and nothing else', async () => {
    const { SessionsService } = await import('../../src/modules/sessions/sessions.service.js');
    const kept = await registerUser(t.http);
    const recentlyEnded = await registerUser(t.http);
    const longEnded = await registerUser(t.http);
    const longIdle = await registerUser(t.http);
    await t.http().post('/api/v1/auth/logout').set(bearer(recentlyEnded.accessToken)).expect(204);
    await query(t.databaseUrl, "UPDATE sessions SET revoked_at = now() - interval '31 days' WHERE user_id = $1", [longEnded.id]);
    await query(t.databaseUrl, "UPDATE sessions SET last_used_at = now() - interval '61 days' WHERE user_id = $1", [longIdle.id]);

    expect(await t.app.get(SessionsService).pruneEnded()).toBeGreaterThanOrEqual(2);
    const left = await query(t.databaseUrl, 'SELECT user_id FROM sessions WHERE user_id = ANY($1)', [
      [kept.id, recentlyEnded.id, longEnded.id, longIdle.id],
    ]);
    expect(left.map((row) => row.user_id).sort()).toEqual([kept.id, recentlyEnded.id].sort());
    const orphans = await query(t.databaseUrl, 'SELECT 1 FROM refresh_tokens r LEFT JOIN sessions s ON s.id = r.session_id WHERE s.id IS NULL');
    expect(orphans).toHaveLength(0);
  });

  describe('access tokens', () => {
    it('refuses missing, malformed, tampered, expired and foreign-key tokens with 401 UNAUTHENTICATED', async () => {
      const user = await registerUser(t.http);
      const [header, payload, signature] = user.accessToken.split('.');
      const claims = JSON.parse(Buffer.from(payload, 'base64url').toString());
      const forged = Buffer.from(JSON.stringify({ ...claims, role: 'admin' })).toString('base64url');
      const { JwtService } = await import('@nestjs/jwt');
      const { generateRsaKeyPair } = await import('../../src/core/auth/signing-keys.js');
      const expired = signWithTestKey({
        role: 'user',
        sid: claims.sid,
        sub: user.id,
        iss: 'user-service',
        aud: 'ecommerce-platform',
        exp: Math.floor(Date.now() / 1000) - 10,
      });
      const foreignKey = await new JwtService().signAsync(
        { role: 'admin', sid: claims.sid, sub: user.id, iss: 'user-service', aud: 'ecommerce-platform' },
        { algorithm: 'RS256', privateKey: generateRsaKeyPair().privateKeyPem, expiresIn: 60 },
      );
      const noneAlg = `${Buffer.from('{"alg":"none","typ":"JWT"}').toString('base64url')}.${payload}.`;
      // The genuine token first, so its signature has been verified (and remembered) before the forgeries reuse it.
      await t.http().get('/api/v1/users/me').set(bearer(user.accessToken)).expect(200);
      for (const authorization of [
        undefined,
        'Bearer',
        'Bearer not.a.jwt',
        `Basic ${user.accessToken}`,
        `Bearer ${header}.${forged}.${signature}`,
        `Bearer ${expired}`,
        `Bearer ${foreignKey}`,
        `Bearer ${noneAlg}`,
      ]) {
        const call = t.http().get('/api/v1/users/me');
        const response = await (authorization ? call.set('Authorization', authorization) : call).expect(401);
        expect(response.body.code).toBe('UNAUTHENTICATED');
      }
    });

    it('are checked by the strategy of the app they are sent to, with two apps in one process', async () => {
      // Passport keeps strategies by name in one registry per process: the app booted last used to check every app's tokens.
      const other = await bootTestApp();
      try {
        const user = await registerUser(t.http);
        await t.http().post('/api/v1/auth/logout').set(bearer(user.accessToken)).expect(204);
        const response = await t.http().get('/api/v1/users/me').set(bearer(user.accessToken)).expect(401);
        expect(response.body.code).toBe('UNAUTHENTICATED');
      } finally {
        await other.close();
      }
      const user = await registerUser(t.http);
      await t.http().get('/api/v1/users/me').set(bearer(user.accessToken)).expect(200);
    });

    it('answers many concurrent requests each as its own user, valid and refused ones mixed', async () => {
      const users = await Promise.all(Array.from({ length: 8 }, () => registerUser(t.http)));
      const calls = users.flatMap((user) => [
        t.http().get('/api/v1/users/me').set(bearer(user.accessToken)).then((response) => ({ user, response, valid: true })),
        t.http().get('/api/v1/users/me').set(bearer(`${user.accessToken}x`)).then((response) => ({ user, response, valid: false })),
      ]);
      for (const { user, response, valid } of await Promise.all(calls)) {
        if (valid) expect([response.status, response.body.id]).toEqual([200, user.id]);
        else expect(response.status).toBe(401);
      }
    });

    it('stops accepting a token at its expiry, though it was verified before', async () => {
      const user = await registerUser(t.http);
      const { sid } = JSON.parse(Buffer.from(user.accessToken.split('.')[1], 'base64url').toString());
      const exp = Math.floor(Date.now() / 1000) + 2;
      const shortLived = signWithTestKey({ role: 'user', sid, sub: user.id, iss: 'user-service', aud: 'ecommerce-platform', exp });
      await t.http().get('/api/v1/users/me').set(bearer(shortLived)).expect(200);
      await new Promise((resolve) => setTimeout(resolve, exp * 1000 - Date.now() + 50));
      const response = await t.http().get('/api/v1/users/me').set(bearer(shortLived)).expect(401);
      expect(response.body.code).toBe('UNAUTHENTICATED');
    });
  });
});
