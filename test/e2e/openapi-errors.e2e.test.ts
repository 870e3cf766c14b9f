import type { Response as Answer } from 'supertest';

import { ERROR_CATALOG, isErrorCode } from '../../src/core/errors/error-codes.js';
import { problemDetails } from '../../src/core/errors/problem-details.js';
import { registerUser } from '../factories/user.factory.js';
import { bearer, createAdmin } from '../utils/admin.js';
import { bootTestApp, type TestApp } from '../utils/test-app.js';

type Example = { type: string; title: string; status: number; detail: string; code: string; correlationId: string; errors?: unknown };
type MediaType = { schema?: { $ref?: string }; example?: Example; examples?: Record<string, { value: Example }> };
type Response = { description?: string; content?: Record<string, MediaType>; headers?: Record<string, unknown> };
type Document = {
  info: { description: string };
  paths: Record<string, Record<string, { responses: Record<string, Response> }>>;
  components: { schemas: Record<string, { properties?: Record<string, { type?: string }>; required?: string[] }> };
};

/** Every documented error example: where, and the body it shows. */
interface Documented {
  method: string;
  path: string;
  status: number;
  example: Example;
  response: Response;
}

function documentedErrors(document: Document): Documented[] {
  const found: Documented[] = [];
  for (const [path, item] of Object.entries(document.paths)) {
    for (const [method, operation] of Object.entries(item)) {
      for (const [status, response] of Object.entries(operation.responses)) {
        if (Number(status) < 400) continue;
        for (const media of Object.values(response.content ?? {})) {
          const examples = media.example ? [media.example] : Object.values(media.examples ?? {}).map((entry) => entry.value);
          for (const example of examples) found.push({ method: method.toUpperCase(), path, status: Number(status), example, response });
        }
      }
    }
  }
  return found;
}

const UUID = '3f1c2a4e-8d5b-4b7a-9c1e-2f6d8a9b0c1d';

/** The members of every problem body (ProblemDetails), in order; `errors` comes on top for field problems. */
const PROBLEM_KEYS = ['type', 'title', 'status', 'detail', 'code', 'correlationId'];

describe('OpenAPI error examples (e2e): what the document shows is what the service answers', () => {
  let t: TestApp;
  let document: Document;
  let documented: Documented[];
  beforeAll(async () => {
    // A low limit on password/forgot, to provoke its 429.
    t = await bootTestApp({ env: { RATE_LIMIT_PASSWORD_FORGOT_LIMIT: '1' } });
    document = (await t.http().get('/docs-json').expect(200)).body as Document;
    documented = documentedErrors(document);
  });
  afterAll(() => t?.close());

  it('documents every error response of every operation as problem+json, readiness’s own body aside', () => {
    const problemResponses = Object.entries(document.paths).flatMap(([path, item]) =>
      Object.entries(item).flatMap(([method, operation]) =>
        Object.entries(operation.responses)
          .filter(([status]) => Number(status) >= 400)
          .map(([status, response]) => ({ where: `${method.toUpperCase()} ${path} ${status}`, types: Object.keys(response.content ?? {}) })),
      ),
    );
    expect(problemResponses.length).toBeGreaterThan(100);
    const others = problemResponses.filter(({ types }) => types.join() !== 'application/problem+json');
    expect(others).toEqual([{ where: 'GET /api/v1/health/ready 503', types: ['application/json'] }]);
  });

  it('gives every example a code the service answers with that status, and the body the error filter renders for it', () => {
    expect(documented.length).toBeGreaterThan(100);
    for (const { method, path, status, example, response } of documented) {
      const where = `${method} ${path} ${status} ${example.code}`;
      expect({ where, known: isErrorCode(example.code) }).toEqual({ where, known: true });
      expect({ where, status: example.status }).toEqual({ where, status });
      expect({ where, status: ERROR_CATALOG[example.code as keyof typeof ERROR_CATALOG].status }).toEqual({ where, status });
      // As the filter renders it: type, title and status from the code and status, nothing else.
      const rendered = problemDetails(status, example.code, example.detail, example.correlationId, example.errors as never);
      expect({ where, example }).toEqual({ where, example: rendered });
      expect({ where, keys: Object.keys(example).filter((key) => key !== 'errors') }).toEqual({ where, keys: PROBLEM_KEYS });
      if (example.errors !== undefined) expect(example.errors).toEqual([{ field: expect.any(String), message: expect.any(String) }]);
      for (const media of Object.values(response.content ?? {})) expect(media.schema).toEqual({ $ref: '#/components/schemas/ProblemDetails' });
    }
  });

  it('shows no code that is not one (BODY_LIMIT_BYTES, UUID) and no status number as a title', () => {
    const codes = new Set(documented.map(({ example }) => example.code));
    expect(codes.has('BODY_LIMIT_BYTES')).toBe(false);
    expect(codes.has('UUID')).toBe(false);
    expect(documented.filter(({ example }) => /^\d+$/.test(example.title))).toEqual([]);
    const tooLarge = documented.filter(({ status }) => status === 413);
    expect(tooLarge.length).toBeGreaterThan(0);
    expect(new Set(tooLarge.map(({ example }) => example.code))).toEqual(new Set(['PAYLOAD_TOO_LARGE']));
  });

  it('types every mobile field as a nullable string, never an object', () => {
    const mobiles = Object.entries(document.components.schemas).flatMap(([name, schema]) =>
      Object.entries(schema.properties ?? {})
        .filter(([property]) => property === 'mobile')
        .map(([, value]) => ({ name, type: value.type })),
    );
    expect(mobiles.length).toBeGreaterThan(3);
    expect(mobiles.filter(({ type }) => type !== 'string')).toEqual([]);
  });

  it('describes the service as it is: the administration it names exists under /admin', () => {
    const { description } = document.info;
    expect(description).toMatch(/\/admin/);
    const paths = Object.keys(document.paths);
    for (const route of ['/admin/users', '/admin/users/{id}/status', '/admin/users/{id}/role', '/admin/users/{id}/sessions', '/admin/stats', '/admin/audit-log', '/admin/api-keys']) {
      expect(paths).toContain(`/api/v1${route}`);
    }
    expect(description).toMatch(/WWW-Authenticate/);
    expect(description).toMatch(/405/);
  });

  describe('the errors themselves, provoked', () => {
    let user: Awaited<ReturnType<typeof registerUser>>;
    let admin: Awaited<ReturnType<typeof registerUser>>;
    beforeAll(async () => {
      user = await registerUser(t.http);
      admin = await createAdmin(t);
    });

    const raw = (path: string, body: string, type: string) => t.http().post(path).set('Content-Type', type).send(body);
    const cases: [string, string, number, string, () => PromiseLike<Answer>][] = [
      ['POST', '/api/v1/auth/register', 400, 'VALIDATION_FAILED', () => t.http().post('/api/v1/auth/register').send({})],
      ['POST', '/api/v1/auth/register', 409, 'EMAIL_TAKEN', () => t.http().post('/api/v1/auth/register').send({ email: user.email, password: 'Another-pass-42', name: 'Twin' })],
      [
        'POST',
        '/api/v1/auth/register',
        409,
        'IDEMPOTENCY_KEY_REUSED',
        async () => {
          await t.http().post('/api/v1/auth/register').set('Idempotency-Key', 'docs-key-1').send({ email: 'docs-one@example.com', password: 'Docs-pass-421', name: 'One' });
          return t.http().post('/api/v1/auth/register').set('Idempotency-Key', 'docs-key-1').send({ email: 'docs-two@example.com', password: 'Docs-pass-421', name: 'Two' });
        },
      ],
      ['POST', '/api/v1/auth/login', 400, 'MALFORMED_REQUEST', () => raw('/api/v1/auth/login', '{"email":', 'application/json')],
      ['POST', '/api/v1/auth/login', 401, 'INVALID_CREDENTIALS', () => t.http().post('/api/v1/auth/login').send({ email: user.email, password: 'Wrong-password-1' })],
      ['POST', '/api/v1/auth/login', 413, 'PAYLOAD_TOO_LARGE', () => t.http().post('/api/v1/auth/login').send({ email: user.email, password: 'x'.repeat(20_000) })],
      ['POST', '/api/v1/auth/login', 415, 'UNSUPPORTED_MEDIA_TYPE', () => raw('/api/v1/auth/login', 'email=a', 'application/x-www-form-urlencoded')],
      ['POST', '/api/v1/auth/refresh', 401, 'UNAUTHENTICATED', () => t.http().post('/api/v1/auth/refresh').send({ refreshToken: 'not-a-refresh-token' })],
      ['POST', '/api/v1/auth/verify-email', 400, 'TOKEN_INVALID', () => t.http().post('/api/v1/auth/verify-email').send({ token: 'not-an-emailed-token' })],
      ['POST', '/api/v1/auth/password/forgot', 429, 'RATE_LIMITED', async () => {
        await t.http().post('/api/v1/auth/password/forgot').send({ email: 'someone@example.com' });
        return t.http().post('/api/v1/auth/password/forgot').send({ email: 'someone@example.com' });
      }],
      ['GET', '/api/v1/users/me', 401, 'UNAUTHENTICATED', () => t.http().get('/api/v1/users/me')],
      ['POST', '/api/v1/auth/logout', 415, 'UNSUPPORTED_MEDIA_TYPE', () => raw('/api/v1/auth/logout', 'bye', 'text/plain').set(bearer(user.accessToken))],
      ['POST', '/api/v1/users/me/password', 400, 'INVALID_CURRENT_PASSWORD', () =>
        t.http().post('/api/v1/users/me/password').set(bearer(user.accessToken)).send({ currentPassword: 'Not-my-password-1', newPassword: 'Brand-new-pass-42' })],
      ['DELETE', '/api/v1/auth/sessions/{id}', 400, 'VALIDATION_FAILED', () => t.http().delete('/api/v1/auth/sessions/not-a-uuid').set(bearer(user.accessToken))],
      ['DELETE', '/api/v1/auth/sessions/{id}', 404, 'SESSION_NOT_FOUND', () => t.http().delete(`/api/v1/auth/sessions/${UUID}`).set(bearer(user.accessToken))],
      ['GET', '/api/v1/admin/users', 403, 'FORBIDDEN', () => t.http().get('/api/v1/admin/users').set(bearer(user.accessToken))],
      ['GET', '/api/v1/admin/users/{id}', 404, 'USER_NOT_FOUND', () => t.http().get(`/api/v1/admin/users/${UUID}`).set(bearer(admin.accessToken))],
      ['DELETE', '/api/v1/admin/api-keys/{id}', 404, 'API_KEY_NOT_FOUND', () => t.http().delete(`/api/v1/admin/api-keys/${UUID}`).set(bearer(admin.accessToken))],
      ['PATCH', '/api/v1/admin/users/{id}/role', 409, 'SELF_CHANGE_FORBIDDEN', () =>
        t.http().patch(`/api/v1/admin/users/${admin.id}/role`).set(bearer(admin.accessToken)).send({ role: 'user' })],
      ['POST', '/api/v1/admin/users', 400, 'VALIDATION_FAILED', () => t.http().post('/api/v1/admin/users').set(bearer(admin.accessToken)).send({ role: 'root' })],
    ];

    it.each(cases)('%s %s %i %s: the answer is the documented example', async (method, path, status, code, provoke) => {
      const entry = documented.find((candidate) => candidate.method === method && candidate.path === path && candidate.status === status && candidate.example.code === code);
      expect(entry).toBeDefined();

      const response = await provoke();

      expect(response.status).toBe(status);
      expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
      const body = response.body as Example;
      expect(Object.keys(body).filter((key) => key !== 'errors')).toEqual(PROBLEM_KEYS);
      expect({ code: body.code, status: body.status, title: body.title, type: body.type }).toEqual({
        code: entry!.example.code,
        status: entry!.example.status,
        title: entry!.example.title,
        type: entry!.example.type,
      });
      if (entry!.response.headers?.['WWW-Authenticate']) expect(response.headers['www-authenticate']).toMatch(/^Bearer realm="user-service"/);
      if (entry!.response.headers?.['Retry-After']) expect(response.headers['retry-after']).toMatch(/^\d+$/);
    });

    it('answers the framework codes with the detail the document shows', async () => {
      for (const [method, path, status, code, provoke] of cases.filter(([, , , code]) => ['MALFORMED_REQUEST', 'PAYLOAD_TOO_LARGE', 'UNSUPPORTED_MEDIA_TYPE'].includes(code))) {
        const entry = documented.find((candidate) => candidate.method === method && candidate.path === path && candidate.status === status && candidate.example.code === code);
        expect((await provoke()).body.detail).toBe(entry!.example.detail);
      }
    });
  });
});
