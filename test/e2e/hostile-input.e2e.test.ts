import { ErrorCode } from '../../src/core/errors/error-codes.js';
import { registerUser } from '../factories/user.factory.js';
import { bearer, createAdmin } from '../utils/admin.js';
import { bootTestApp, type TestApp } from '../utils/test-app.js';

const PROBLEM = /^application\/problem\+json/;
const CODES = new Set<string>(Object.values(ErrorCode));

/** Each class of hostile input the hardening review found answered 500 or outside the conventions. */
describe('Hostile input (e2e): a clear 4xx problem+json, never a 500', () => {
  let t: TestApp;
  let token: string;
  let adminToken: string;

  beforeAll(async () => {
    t = await bootTestApp();
    token = (await registerUser(t.http)).accessToken;
    adminToken = (await createAdmin(t)).accessToken;
  });
  afterAll(() => t?.close());

  const expectProblem = (response: { status: number; headers: Record<string, string>; body: { code?: string } }, status: number, code?: string) => {
    expect({ status: response.status, type: response.headers['content-type'] }).toEqual({ status, type: expect.stringMatching(PROBLEM) });
    expect(CODES.has(response.body.code ?? '')).toBe(true);
    if (code) expect(response.body.code).toBe(code);
  };
  const rawPost = (path: string, body: string, type = 'application/json') => t.http().post(path).set('Content-Type', type).send(body);

  describe('bodies nested very deeply', () => {
    // Past BODY_LIMIT_BYTES (16 KiB) the size is refused first: 413, a 4xx problem as well.
    const tooLargeOr400 = (body: string) => (Buffer.byteLength(body) > 16_384 ? 413 : 400);
    const depths = [20, 200, 3_000, 50_000];
    for (const depth of depths) {
      it(`arrays and objects ${depth} levels deep, at the top or inside a field: 400`, async () => {
        const arrays = `${'['.repeat(depth)}${']'.repeat(depth)}`;
        const objects = `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;
        for (const body of [arrays, objects, `{"email":${arrays},"password":"x"}`, `{"email":"a@example.com","password":${objects}}`]) {
          expectProblem(await rawPost('/api/v1/auth/login', body), tooLargeOr400(body));
        }
        for (const body of [`{"name":${objects}}`, `{"mobile":${arrays}}`]) {
          expectProblem(await t.http().patch('/api/v1/users/me').set(bearer(token)).set('Content-Type', 'application/json').send(body), tooLargeOr400(body));
        }
      });
    }
  });

  describe('strings holding a NUL character', () => {
    it('in body fields, keys and nested values: 400 with the field named', async () => {
      const cases: [string, string, object][] = [
        ['post', '/api/v1/auth/register', { email: 'nul@example.com', password: 'Valid-pass-42', name: 'Nu\u0000l' }],
        ['post', '/api/v1/auth/login', { email: 'a\u0000@example.com', password: 'whatever-1' }],
        ['patch', '/api/v1/users/me', { name: 'x\u0000' }],
        ['patch', '/api/v1/users/me/preferences', { timezone: 'Europe/Rome\u0000' }],
      ];
      for (const [method, path, body] of cases) {
        const request = method === 'post' ? t.http().post(path) : t.http().patch(path).set(bearer(token));
        expectProblem(await request.send(body), 400, 'VALIDATION_FAILED');
      }
    });

    it('lone surrogates (not Unicode) in any field, an email or a reason included: 400, where the email check and PostgreSQL threw', async () => {
      const cases: [string, object][] = [
        ['/api/v1/auth/login', { email: 'x\udc00y@example.com', password: 'whatever-1' }],
        ['/api/v1/auth/register', { email: 'a\ud800@example.com', password: 'Valid-pass-42', name: 'Lone' }],
        ['/api/v1/auth/password/forgot', { email: '\udfffz@example.com' }],
      ];
      for (const [path, body] of cases) expectProblem(await t.http().post(path).send(body), 400, 'VALIDATION_FAILED');
      const victim = await registerUser(t.http);
      const status = await t.http().patch(`/api/v1/admin/users/${victim.id}/status`).set(bearer(adminToken)).send({ status: 'blocked', reason: 'x\udc00y' });
      expectProblem(status, 400, 'VALIDATION_FAILED');
      // A well-formed pair (an emoji) is fine.
      await t.http().patch('/api/v1/users/me').set(bearer(token)).send({ name: 'Ada \ud83d\ude00' }).expect(200);
    });

    it('in query strings and path segments: 400', async () => {
      for (const query of ['q=ab%00c', 'status=active%00', 'cursor=%00', 'q=%00']) {
        expectProblem(await t.http().get(`/api/v1/admin/users?${query}`).set(bearer(adminToken)), 400);
      }
      expectProblem(await t.http().get('/api/v1/admin/audit-log?action=%00').set(bearer(adminToken)), 400);
      expectProblem(await t.http().get('/api/v1/users/%00').set(bearer(token)), 400);
    });
  });

  describe('paths', () => {
    it('with malformed percent-encoding: 400 problem+json', async () => {
      for (const path of ['/api/v1/users/%E0%A4%A', '/api/v1/%', '/api/v1/users/%zz', '/api/v1/admin/users/%E0%A4%A/sessions', '/%c0%af']) {
        const response = await t.http().get(path).set(bearer(adminToken));
        expect(response.status).toBeLessThan(500);
        expectProblem(response, response.status);
      }
    });

    it('very long: a 4xx problem+json, not a bare error', async () => {
      for (const path of [
        `/api/v1/users/${'a'.repeat(10_000)}`,
        `/api/v1/${'x/'.repeat(5_000)}`,
        `/api/v1/admin/users?q=${'q'.repeat(5_000)}`,
        // Past Node's 16 KiB limit for the request line and headers: refused by the HTTP parser itself.
        `/api/v1/admin/users?q=${'q'.repeat(20_000)}`,
      ]) {
        const response = await t.http().get(path).set(bearer(adminToken));
        expect(response.status).toBeGreaterThanOrEqual(400);
        expect(response.status).toBeLessThan(500);
        expectProblem(response, response.status);
      }
    });
  });

  describe('content types', () => {
    it('anything but JSON is 415 UNSUPPORTED_MEDIA_TYPE: form-urlencoded, multipart, text, none with a body', async () => {
      const form = 'email=a%40example.com&password=Valid-pass-42&name=Form';
      expectProblem(await rawPost('/api/v1/auth/register', form, 'application/x-www-form-urlencoded'), 415, 'UNSUPPORTED_MEDIA_TYPE');
      expectProblem(await rawPost('/api/v1/auth/login', form, 'application/x-www-form-urlencoded; charset=utf-8'), 415, 'UNSUPPORTED_MEDIA_TYPE');
      expectProblem(await rawPost('/api/v1/auth/login', '--b\r\n\r\n--b--', 'multipart/form-data; boundary=b'), 415, 'UNSUPPORTED_MEDIA_TYPE');
      expectProblem(await rawPost('/api/v1/auth/login', '{"email":"a@example.com"}', 'text/plain'), 415, 'UNSUPPORTED_MEDIA_TYPE');
      expectProblem(await rawPost('/api/v1/auth/login', '<a/>', 'application/xml'), 415, 'UNSUPPORTED_MEDIA_TYPE');
      // JSON under its structured-syntax names is JSON.
      expect((await rawPost('/api/v1/auth/login', '{"email":"nobody@example.com","password":"Wrong-pass-1"}', 'application/json; charset=utf-8')).status).toBe(401);
    });

    it('a body that is JSON but not an object (null, a number, an array) is 400 where the route takes an object', async () => {
      for (const body of ['null', '42', '"text"', '[]', '[{"name":"x"}]']) {
        expectProblem(await t.http().patch('/api/v1/users/me').set(bearer(token)).set('Content-Type', 'application/json').send(body), 400);
        expectProblem(await t.http().patch('/api/v1/users/me/preferences').set(bearer(token)).set('Content-Type', 'application/json').send(body), 400);
      }
    });

    it('every answer to an error raised before routing carries X-Correlation-ID, as the body does', async () => {
      for (const path of ['/api/v1/users/%zz', `/api/v1/users/${'a'.repeat(10_000)}`, `/api/v1/admin/users?q=${'q'.repeat(20_000)}`]) {
        const response = await t.http().get(path);
        expect(response.headers['x-correlation-id']).toBe(response.body.correlationId);
      }
    });

    it('malformed JSON is 400 MALFORMED_REQUEST', async () => {
      for (const body of ['{', '{"a":}', 'nul', '"\\u00"', '\u0000']) expectProblem(await rawPost('/api/v1/auth/login', body), 400);
    });
  });
});
