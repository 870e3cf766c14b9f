import bcrypt from 'bcrypt';
import { Client } from 'pg';

import { PasswordHasher } from '../../src/core/auth/password-hasher.js';
import { loadConfig } from '../../src/core/config/config.js';

import { registerUser } from '../factories/user.factory.js';
import { mailedToken, waitFor } from '../utils/outbox.js';
import { bootTestApp, query, type TestApp } from '../utils/test-app.js';

/**
 * Races between signing in, changing or resetting a password and asking for
 * reset links, made deterministic: the test holds the user's row lock (as a
 * concurrent password change would), waits until the request under test is
 * queued behind it, then commits its own change.
 */
/** Hashes as the app does (bcrypt over a digest), at cost 4. */
const costFour = new PasswordHasher(loadConfig({ BCRYPT_COST: '4' }));

describe('Password races (e2e, real PostgreSQL)', () => {
  let t: TestApp;
  beforeAll(async () => {
    // Cost 5: a hash made at cost 4 is re-hashed at sign-in.
    t = await bootTestApp({ env: { BCRYPT_COST: '5' } });
  });
  afterAll(() => t.close());

  /** A transaction holding the user's row lock; the caller commits or rolls back. */
  async function holdUserLock(userId: string): Promise<Client> {
    const holder = new Client({ connectionString: t.databaseUrl });
    await holder.connect();
    await holder.query('BEGIN');
    await holder.query('SELECT 1 FROM users WHERE id = $1 FOR UPDATE', [userId]);
    return holder;
  }

  /** Resolves once `count` other sessions of this database wait for a lock. */
  const lockWaiters = (count: number) =>
    waitFor(async () => {
      const [row] = await query<{ waiting: number }>(
        t.databaseUrl,
        `SELECT count(*)::int AS waiting FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`,
      );
      return row!.waiting >= count;
    });

  /** Starts a request without waiting for it (supertest sends on then()). */
  const started = <T>(request: PromiseLike<T>): Promise<T> => Promise.resolve(request);

  const storedHash = async (userId: string) =>
    (await query<{ password_hash: string }>(t.databaseUrl, 'SELECT password_hash FROM users WHERE id = $1', [userId]))[0]!.password_hash;

  const sessionCount = async (userId: string) =>
    (await query<{ n: number }>(t.databaseUrl, 'SELECT count(*)::int AS n FROM sessions WHERE user_id = $1', [userId]))[0]!.n;

  it('does not open a session for a password changed while it was being checked', async () => {
    const user = await registerUser(t.http);
    const holder = await holdUserLock(user.id);
    const login = started(t.http().post('/api/v1/auth/login').send({ email: user.email, password: user.password }));
    await lockWaiters(1);
    await holder.query('UPDATE users SET password_hash = $2 WHERE id = $1', [user.id, await costFour.hash('Changed-meanwhile-1')]);
    await holder.query('COMMIT');
    await holder.end();

    const response = await login;
    expect(response.status).toBe(401);
    expect(response.body.code).toBe('INVALID_CREDENTIALS');
    // Only the registration's session.
    expect(await sessionCount(user.id)).toBe(1);
  });

  it('does not write a re-hash of the old password over a password changed meanwhile', async () => {
    const user = await registerUser(t.http);
    await query(t.databaseUrl, 'UPDATE users SET password_hash = $2 WHERE id = $1', [user.id, await costFour.hash(user.password)]);
    const holder = await holdUserLock(user.id);
    const login = started(t.http().post('/api/v1/auth/login').send({ email: user.email, password: user.password }));
    await lockWaiters(1);
    const changed = await costFour.hash('Changed-meanwhile-2');
    await holder.query('UPDATE users SET password_hash = $2 WHERE id = $1', [user.id, changed]);
    await holder.query('COMMIT');
    await holder.end();

    expect((await login).status).toBe(401);
    expect(await storedHash(user.id)).toBe(changed);
  });

  it('re-hashes under the lock when nothing changed', async () => {
    const user = await registerUser(t.http);
    await query(t.databaseUrl, 'UPDATE users SET password_hash = $2 WHERE id = $1', [user.id, await costFour.hash(user.password)]);
    await t.http().post('/api/v1/auth/login').send({ email: user.email, password: user.password }).expect(200);
    const hash = await storedHash(user.id);
    expect(bcrypt.getRounds(hash)).toBe(5);
    await expect(costFour.verify(user.password, hash)).resolves.toBe(true);
  });

  it('keeps a password reset that commits during a password change', async () => {
    const user = await registerUser(t.http);
    const holder = await holdUserLock(user.id);
    const change = started(
      t
        .http()
        .post('/api/v1/users/me/password')
        .set('Authorization', `Bearer ${user.accessToken}`)
        .send({ currentPassword: user.password, newPassword: 'Chosen-by-change-3' }),
    );
    await lockWaiters(1);
    const reset = await costFour.hash('Chosen-by-reset-3');
    await holder.query('UPDATE users SET password_hash = $2 WHERE id = $1', [user.id, reset]);
    await holder.query('COMMIT');
    await holder.end();

    const response = await change;
    expect(response.status).toBe(400);
    expect(response.body.code).toBe('INVALID_CURRENT_PASSWORD');
    expect(await storedHash(user.id)).toBe(reset);
  });

  it('leaves one live reset link when two requests for one race', async () => {
    const user = await registerUser(t.http);
    const holder = await holdUserLock(user.id);
    // Both are answered at once; the work they start queues behind the lock.
    await t.http().post('/api/v1/auth/password/forgot').send({ email: user.email }).expect(202);
    await t.http().post('/api/v1/auth/password/forgot').send({ email: user.email }).expect(202);
    await lockWaiters(2);
    await holder.query('COMMIT');
    await holder.end();

    const liveLinks = () =>
      query<{ n: number }>(
        t.databaseUrl,
        `SELECT count(*)::int AS n FROM user_tokens WHERE user_id = $1 AND purpose = 'password_reset' AND used_at IS NULL`,
        [user.id],
      );
    const requested = () =>
      query(t.databaseUrl, `SELECT 1 FROM outbox_events WHERE aggregate_id = $1 AND name = 'user.password_reset_requested'`, [user.id]);
    await waitFor(async () => (await requested()).length === 2);
    expect((await liveLinks())[0]!.n).toBe(1);
  });

  it('voids unused reset links when the password is changed', async () => {
    const user = await registerUser(t.http);
    await t.http().post('/api/v1/auth/password/forgot').send({ email: user.email }).expect(202);
    const token = await waitFor(() => mailedToken(t.databaseUrl, user.id, 'user.password_reset_requested').catch(() => undefined));
    const changed = await t
      .http()
      .post('/api/v1/users/me/password')
      .set('Authorization', `Bearer ${user.accessToken}`)
      .send({ currentPassword: user.password, newPassword: 'Changed-by-owner-4' });
    expect(changed.body).toEqual({});
    expect(changed.status).toBe(204);

    const reset = await t.http().post('/api/v1/auth/password/reset').send({ token, newPassword: 'Chosen-by-thief-4' }).expect(400);
    expect(reset.body.code).toBe('TOKEN_INVALID');
    await t.http().post('/api/v1/auth/login').send({ email: user.email, password: 'Changed-by-owner-4' }).expect(200);
  });
});
