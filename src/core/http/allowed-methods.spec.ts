import Fastify from 'fastify';

import { allowedMethods } from './allowed-methods.js';

describe('allowedMethods', () => {
  const app = Fastify();
  const ok = async () => 'ok';
  app.get('/users/me', ok);
  app.patch('/users/me', ok);
  app.delete('/users/me', ok);
  app.delete('/sessions/:id', ok);
  app.post('/login', ok);
  // What @fastify/cors registers: one OPTIONS route that matches every path.
  app.options('*', ok);

  beforeAll(() => app.ready());
  afterAll(() => app.close());

  it('lists the methods of a path in the usual order, HEAD with GET (Fastify serves it)', () => {
    expect(allowedMethods(app, '/users/me')).toEqual(['GET', 'HEAD', 'PATCH', 'DELETE']);
    expect(allowedMethods(app, '/login')).toEqual(['POST']);
  });

  it('matches parametrised paths and ignores the query string', () => {
    expect(allowedMethods(app, '/sessions/3f1c2a4e-8d5b-4b7a-9c1e-2f6d8a9b0c1d?x=1')).toEqual(['DELETE']);
  });

  it('counts no catch-all route: an unknown path has no methods, and OPTIONS is listed nowhere', () => {
    expect(allowedMethods(app, '/nowhere')).toEqual([]);
    expect(allowedMethods(app, '/users/me')).not.toContain('OPTIONS');
  });
});
