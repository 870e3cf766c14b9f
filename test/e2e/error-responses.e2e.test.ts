import { createApiKey } from '../factories/api-key.factory.js';
import { registerUser } from '../factories/user.factory.js';
import { bearer, claimsOf, createAdmin, expectProblem, signIn } from '../utils/admin.js';
import { bootTestApp, type TestApp } from '../utils/test-app.js';
import { signWithTestKey } from '../utils/test-tokens.js';

const REALM = 'Bearer realm="user-service"';
const invalidToken = (description: string) => `${REALM}, error="invalid_token", error_description="${description}"`;
const SESSION_ID = '3f1c2a4e-8d5b-4b7a-9c1e-2f6d8a9b0c1d';

type Answer = { status: number; headers: Record<string, string>; body: Record<string, unknown> };

/** Issue 16: errors that said the wrong thing, each now answered as it should be. */
describe('Error responses (e2e): accurate errors', () => {
  let t: TestApp;
  let token: string;
  beforeAll(async () => {
    t = await bootTestApp();
    token = (await registerUser(t.http)).accessToken;
  });
  afterAll(() => t?.close());

  const fieldErrors = async (path: string, body: unknown) => {
    const response = await t.http().post(path).send(body as object);
    expectProblem(response, 400, 'VALIDATION_FAILED');
    return response.body.errors;
  };
  const required = (...fields: string[]) => fields.map((field) => ({ field, message: 'is required' }));

  describe('validation: one message per field, a missing field first', () => {
    it('POST /auth/refresh: a missing refresh token is required, not too long', async () => {
      expect(await fieldErrors('/api/v1/auth/refresh', {})).toEqual(required('refreshToken'));
      expect(await fieldErrors('/api/v1/auth/refresh', { refreshToken: 42 })).toEqual([{ field: 'refreshToken', message: 'must be a string' }]);
      expect(await fieldErrors('/api/v1/auth/refresh', { refreshToken: 'x'.repeat(513) })).toEqual([
        { field: 'refreshToken', message: 'must be shorter than or equal to 512 characters' },
      ]);
    });

    it('POST /auth/register: each missing field is required, a wrong type is a type error, then the rules', async () => {
      expect(await fieldErrors('/api/v1/auth/register', {})).toEqual(required('email', 'password', 'name'));
      expect(await fieldErrors('/api/v1/auth/register', { email: 42, password: ['x'], name: 'Ada' })).toEqual([
        { field: 'email', message: 'must be a string' },
        { field: 'password', message: 'must be a string' },
      ]);
      expect(await fieldErrors('/api/v1/auth/register', { email: 'nope', password: 'short1', name: 'Ada', mobile: 7 })).toEqual([
        { field: 'email', message: 'must be an email address' },
        { field: 'password', message: 'must be at least 8 characters' },
        { field: 'mobile', message: 'must be a string' },
      ]);
    });

    it('POST /auth/login: missing fields are required; null is a wrong type; an empty password is too short', async () => {
      expect(await fieldErrors('/api/v1/auth/login', {})).toEqual(required('email', 'password'));
      expect(await fieldErrors('/api/v1/auth/login', { email: null, password: '' })).toEqual([
        { field: 'email', message: 'must be a string' },
        { field: 'password', message: 'must be longer than or equal to 1 characters' },
      ]);
    });
  });

  describe('empty bodies', () => {
    const emptyJson = (path: string, type = 'application/json') => t.http().post(path).set('Content-Type', type).send('');

    it('are accepted on routes that take no body (POST /auth/logout with Content-Type: application/json)', async () => {
      const user = await registerUser(t.http);
      await emptyJson('/api/v1/auth/verify-email/resend').set(bearer(user.accessToken)).expect(202);
      await emptyJson('/api/v1/auth/logout', 'application/json; charset=utf-8').set(bearer(user.accessToken)).expect(204);
      const other = await registerUser(t.http);
      await emptyJson('/api/v1/auth/logout-all').set(bearer(other.accessToken)).expect(204);
    });

    it('are a 400 naming the required fields on routes that need a body', async () => {
      for (const type of ['application/json', 'application/merge-patch+json']) {
        const response = await emptyJson('/api/v1/auth/login', type);
        expectProblem(response, 400, 'VALIDATION_FAILED');
        expect(response.body.errors).toEqual(required('email', 'password'));
      }
    });

    it('are not whitespace: a body of spaces is not JSON', async () => {
      expectProblem(await t.http().post('/api/v1/auth/logout').set(bearer(token)).set('Content-Type', 'application/json').send('  '), 400, 'MALFORMED_REQUEST');
    });
  });

  describe('WWW-Authenticate on 401 and 403 of Bearer routes (RFC 6750)', () => {
    it('is the bare challenge when no Bearer token was sent', async () => {
      for (const headers of [{}, { Authorization: 'Basic YWRhOnNlY3JldA==' }, { Authorization: 'Bearer' }]) {
        const response = await t.http().get('/api/v1/users/me').set(headers);
        expectProblem(response, 401, 'UNAUTHENTICATED');
        expect(response.headers['www-authenticate']).toBe(REALM);
      }
    });

    it('says invalid_token, and only "invalid", for garbage, a tampered signature or an unknown key', async () => {
      const [head, payload] = token.split('.');
      const tampered = `${head}.${payload}.${'A'.repeat(342)}`;
      const foreign = signWithTestKey({ ...claimsOf(token) }, undefined, 'not-our-kid');
      for (const presented of ['garbage', 'a.b.c', tampered, foreign]) {
        const response = await t.http().get('/api/v1/users/me').set(bearer(presented));
        expectProblem(response, 401, 'UNAUTHENTICATED');
        expect(response.headers['www-authenticate']).toBe(invalidToken('The access token is invalid'));
        expect(JSON.stringify(response.body)).not.toMatch(/signature|kid\b|key/i);
      }
    });

    it('says the token expired for an expired token of ours', async () => {
      const now = Math.floor(Date.now() / 1000);
      const expired = signWithTestKey({ ...claimsOf(token), iat: now - 1_000, exp: now - 10 });

      const response = await t.http().get('/api/v1/users/me').set(bearer(expired));

      expectProblem(response, 401, 'UNAUTHENTICATED');
      expect(response.headers['www-authenticate']).toBe(invalidToken('The access token expired'));
    });

    it('says the session has ended for a token of an ended session, when first checked and from the memo of checked tokens', async () => {
      const user = await registerUser(t.http);
      // Signed in again: this token is presented for the first time only after its session ended.
      const unseen = await signIn(t, user.email, user.password);
      await t.http().post('/api/v1/auth/logout-all').set(bearer(user.accessToken)).expect(204);

      for (const presented of [unseen.accessToken, unseen.accessToken, user.accessToken]) {
        const response = await t.http().get('/api/v1/users/me').set(bearer(presented));
        expectProblem(response, 401, 'UNAUTHENTICATED');
        expect(response.headers['www-authenticate']).toBe(invalidToken('The session has ended'));
      }
    });

    it('is the bare challenge for an API key where only Bearer tokens are taken, or an unknown key', async () => {
      const admin = await createAdmin(t);
      const { key } = await createApiKey(t.http, admin.accessToken);
      const elsewhere = await t.http().get('/api/v1/users/me').set('X-API-Key', key);
      const unknown = await t.http().get(`/api/v1/users/${admin.id}`).set('X-API-Key', `${key.slice(0, -4)}AAAA`);
      for (const response of [elsewhere, unknown]) {
        expectProblem(response, 401, 'UNAUTHENTICATED');
        expect(response.headers['www-authenticate']).toBe(REALM);
      }
    });

    it('says insufficient_scope on the 403 of an admin route for a user token', async () => {
      const response = await t.http().get('/api/v1/admin/users').set(bearer(token));

      expectProblem(response, 403, 'FORBIDDEN');
      expect(response.headers['www-authenticate']).toMatch(/^Bearer realm="user-service", error="insufficient_scope"/);
    });

    it('is not sent on 401s of sign-in and refresh, where the credentials are in the body, not a Bearer token', async () => {
      const login = await t.http().post('/api/v1/auth/login').send({ email: 'nobody@example.com', password: 'Wrong-password-1' });
      const refresh = await t.http().post('/api/v1/auth/refresh').send({ refreshToken: 'not-a-refresh-token' });

      expectProblem(login, 401, 'INVALID_CREDENTIALS');
      expectProblem(refresh, 401, 'UNAUTHENTICATED');
      expect(login.headers['www-authenticate']).toBeUndefined();
      expect(refresh.headers['www-authenticate']).toBeUndefined();
    });
  });

  describe('405 for a known path with another method', () => {
    const expect405 = (response: Answer, allow: string) => {
      expectProblem(response, 405, 'METHOD_NOT_ALLOWED');
      expect(response.body.title).toBe('Method Not Allowed');
      expect(response.headers.allow).toBe(allow);
    };

    it('PUT /users/me is 405 with the methods it takes, HEAD with GET, before any authentication', async () => {
      expect405(await t.http().put('/api/v1/users/me').send({ name: 'x' }), 'GET, HEAD, PATCH, DELETE');
      expect405(await t.http().put('/api/v1/users/me').set(bearer(token)), 'GET, HEAD, PATCH, DELETE');
    });

    it('covers parametrised paths and POST-only ones, the query string aside', async () => {
      expect405(await t.http().patch(`/api/v1/auth/sessions/${SESSION_ID}`).set(bearer(token)), 'DELETE');
      expect405(await t.http().get('/api/v1/auth/login?next=1'), 'POST');
      expect405(await t.http().delete('/api/v1/admin/users'), 'GET, HEAD, POST');
      // Without CORS_ORIGINS nothing answers OPTIONS, so it is not in Allow and is itself refused.
      expect405(await t.http().options('/api/v1/auth/login'), 'POST');
      const head = await t.http().head('/api/v1/auth/login');
      expect({ status: head.status, allow: head.headers.allow }).toEqual({ status: 405, allow: 'POST' });
    });

    it('keeps 404 for paths no route has', async () => {
      for (const response of [
        await t.http().put('/api/v1/nowhere'),
        await t.http().get('/api/v1/users/me/nothing'),
        await t.http().patch(`/api/v1/auth/sessions/${SESSION_ID}/more`),
      ]) {
        expectProblem(response, 404, 'NOT_FOUND');
        expect(response.headers.allow).toBeUndefined();
      }
    });
  });
});
