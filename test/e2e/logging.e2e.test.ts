import { Logger } from 'nestjs-pino';

import { RequestContext } from '../../src/core/logging/request-context.js';
import { registerUser } from '../factories/user.factory.js';
import { bootTestApp, type TestApp } from '../utils/test-app.js';

describe('Logging (e2e)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await bootTestApp({ captureLogs: true });
  });
  afterAll(() => t.close());

  const requestLines = (correlationId: string) =>
    t.logs().filter((line) => line.msg === 'request completed' && line.correlationId === correlationId);

  it('writes one line per request: correlation id, method, path without its query, route, status and time', async () => {
    const user = await registerUser(t.http);
    await t
      .http()
      .get('/api/v1/users/me?token=query-secret-value')
      .set({ Authorization: `Bearer ${user.accessToken}`, 'X-Correlation-ID': 'log-test-1' })
      .expect(200);

    const lines = requestLines('log-test-1');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({
      level: 30,
      correlationId: 'log-test-1',
      method: 'GET',
      path: '/api/v1/users/me',
      route: '/api/v1/users/me',
      statusCode: 200,
      remoteAddress: expect.any(String),
      responseTime: expect.any(Number),
    });
  });

  it('logs no password, token or query string of any request', async () => {
    const user = await registerUser(t.http);
    const login = await t
      .http()
      .post('/api/v1/auth/login')
      .set('X-Correlation-ID', 'log-test-2')
      .send({ email: user.email, password: user.password })
      .expect(200);
    await t.http().post('/api/v1/auth/refresh').send({ refreshToken: login.body.refreshToken }).expect(200);
    await t.http().post('/api/v1/auth/login').send({ email: user.email, password: `${user.password}-wrong` }).expect(401);
    await t.http().get('/api/v1/users/me?token=query-secret-value').set('Authorization', `Bearer ${user.accessToken}`).expect(200);

    const everything = t.logs().map((line) => JSON.stringify(line)).join('\n');
    expect(requestLines('log-test-2')).toHaveLength(1);
    for (const secret of [user.password, user.accessToken, user.refreshToken, login.body.accessToken, login.body.refreshToken, 'query-secret-value']) {
      expect(everything).not.toContain(secret);
    }
  });

  it('logs refused and unknown requests too, with their status', async () => {
    await t.http().get('/api/v1/users/me').set('X-Correlation-ID', 'log-test-3').expect(401);
    await t.http().get('/api/v1/no-such-route').set('X-Correlation-ID', 'log-test-5').expect(404);

    expect(requestLines('log-test-3')).toEqual([expect.objectContaining({ statusCode: 401, route: '/api/v1/users/me' })]);
    expect(requestLines('log-test-5')).toEqual([expect.objectContaining({ statusCode: 404, route: 'unmatched', path: '/api/v1/no-such-route' })]);
  });

  it("every line written while a request is handled carries that request's correlation id", () => {
    const context = t.app.get(RequestContext);
    context.run('log-test-4', () => t.app.get(Logger).warn('something worth a warning'));
    t.app.get(Logger).warn('outside any request');

    const warnings = t.logs().filter((line) => line.level === 40);
    expect(warnings.find((line) => line.msg === 'something worth a warning')).toMatchObject({ correlationId: 'log-test-4' });
    expect(warnings.find((line) => line.msg === 'outside any request')).not.toHaveProperty('correlationId');
  });
});
