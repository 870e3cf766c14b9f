import { registerUser } from '../factories/user.factory.js';
import { bootTestApp, query, type TestApp } from '../utils/test-app.js';

describe('Users (e2e)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await bootTestApp();
  });
  afterAll(() => t.close());

  const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });

  it('GET /users/me returns the signed-in user, never a hash', async () => {
    const user = await registerUser(t.http, { mobile: '+447911123456' });
    const response = await t.http().get('/api/v1/users/me').set(bearer(user.accessToken)).expect(200);
    expect(response.body).toMatchObject({ id: user.id, email: user.email, mobile: '+447911123456', role: 'user', status: 'active' });
    expect(Object.keys(response.body).sort()).toEqual(
      ['createdAt', 'email', 'emailVerified', 'id', 'mobile', 'name', 'role', 'status', 'updatedAt'].sort(),
    );
  });

  it('PATCH /users/me changes name and mobile, trims, and null removes the mobile', async () => {
    const user = await registerUser(t.http);
    const before = await t.http().get('/api/v1/users/me').set(bearer(user.accessToken)).expect(200);
    const changed = await t
      .http()
      .patch('/api/v1/users/me')
      .set(bearer(user.accessToken))
      .send({ name: '  Ada King  ', mobile: '+15551234567' })
      .expect(200);
    expect(changed.body).toMatchObject({ name: 'Ada King', mobile: '+15551234567' });
    expect(new Date(changed.body.updatedAt).getTime()).toBeGreaterThanOrEqual(new Date(before.body.updatedAt).getTime());
    const cleared = await t.http().patch('/api/v1/users/me').set(bearer(user.accessToken)).send({ mobile: null }).expect(200);
    expect(cleared.body).toMatchObject({ name: 'Ada King', mobile: null });
    const [row] = await query(t.databaseUrl, 'SELECT name, mobile FROM users WHERE id = $1', [user.id]);
    expect(row).toEqual({ name: 'Ada King', mobile: null });
  });

  it('PATCH /users/me rejects fields the user may not set and bad values, changing nothing', async () => {
    const user = await registerUser(t.http);
    for (const body of [{ role: 'admin' }, { status: 'active' }, { emailVerified: true }, { email: 'new@example.com' }]) {
      const response = await t.http().patch('/api/v1/users/me').set(bearer(user.accessToken)).send(body).expect(400);
      expect(response.body.errors).toEqual([{ field: Object.keys(body)[0], message: 'is not allowed' }]);
    }
    for (const body of [{ name: '' }, { name: '   ' }, { name: 'x'.repeat(101) }, { mobile: '12345' }, { name: 7 }]) {
      const response = await t.http().patch('/api/v1/users/me').set(bearer(user.accessToken)).send(body).expect(400);
      expect(response.body.code).toBe('VALIDATION_FAILED');
    }
    const [row] = await query(t.databaseUrl, 'SELECT role, status, email_verified FROM users WHERE id = $1', [user.id]);
    expect(row).toEqual({ role: 'user', status: 'active', email_verified: false });
  });

  it('GET /users/:id: yourself and admins see the user; anyone else gets the same 404 as a missing id', async () => {
    const owner = await registerUser(t.http);
    const stranger = await registerUser(t.http);
    const admin = await registerUser(t.http);
    await query(t.databaseUrl, "UPDATE users SET role = 'admin' WHERE id = $1", [admin.id]);
    const adminLogin = await t.http().post('/api/v1/auth/login').send({ email: admin.email, password: admin.password }).expect(200);

    await t.http().get(`/api/v1/users/${owner.id}`).set(bearer(owner.accessToken)).expect(200);
    const byAdmin = await t.http().get(`/api/v1/users/${owner.id}`).set(bearer(adminLogin.body.accessToken)).expect(200);
    expect(byAdmin.body.id).toBe(owner.id);

    const hidden = await t.http().get(`/api/v1/users/${owner.id}`).set(bearer(stranger.accessToken)).expect(404);
    const missing = await t.http().get('/api/v1/users/00000000-0000-4000-8000-000000000000').set(bearer(stranger.accessToken)).expect(404);
    expect(hidden.body.code).toBe('USER_NOT_FOUND');
    expect({ ...hidden.body, correlationId: '' }).toEqual({ ...missing.body, correlationId: '' });
    await t.http().get('/api/v1/users/not-a-uuid').set(bearer(owner.accessToken)).expect(400);
  });

  it('every users route needs a token', async () => {
    await t.http().get('/api/v1/users/me').expect(401);
    await t.http().patch('/api/v1/users/me').send({ name: 'x' }).expect(401);
    await t.http().get('/api/v1/users/00000000-0000-4000-8000-000000000000').expect(401);
  });
});
