import { type RegisteredUser, registerUser } from '../factories/user.factory.js';
import { query, type TestApp } from './test-app.js';

export const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });

/** The claims of an access token (read, not verified: the app verifies). */
export function claimsOf(accessToken: string): { sub: string; role: string; sid: string; jti: string; exp: number } {
  return JSON.parse(Buffer.from(accessToken.split('.')[1]!, 'base64url').toString());
}

/** Signs in through the API and returns the new tokens (fails the test unless 200). */
export async function signIn(t: TestApp, email: string, password: string, headers: Record<string, string> = {}) {
  const response = await t.http().post('/api/v1/auth/login').set(headers).send({ email, password }).expect(200);
  return response.body as { user: { id: string; role: string; status: string }; accessToken: string; refreshToken: string };
}

/**
 * A registered user made an admin in the database, then signed in again, so
 * the returned tokens carry role admin (the registration's tokens are replaced).
 */
export async function createAdmin(t: TestApp): Promise<RegisteredUser> {
  const user = await registerUser(t.http);
  await query(t.databaseUrl, "UPDATE users SET role = 'admin' WHERE id = $1", [user.id]);
  const tokens = await signIn(t, user.email, user.password);
  return { ...user, accessToken: tokens.accessToken, refreshToken: tokens.refreshToken };
}

/** Env for bootTestApp that makes the app create its bootstrap admin (see signInAsAdmin). */
export const bootstrapAdminEnv = (email = 'root-admin@example.com', password = 'Bootstrap-admin-42') => ({
  ADMIN_EMAIL: email,
  ADMIN_PASSWORD: password,
});

/** Signs in as the bootstrap admin of an app booted with bootstrapAdminEnv(). */
export async function signInAsAdmin(t: TestApp): Promise<RegisteredUser> {
  const { email, password } = t.config.admin;
  const tokens = await signIn(t, email!, password!);
  return { id: tokens.user.id, email: email!, password: password!, accessToken: tokens.accessToken, refreshToken: tokens.refreshToken };
}

/** The audit entries about a user, oldest first, straight from the table. */
export function auditRows(databaseUrl: string, targetId: string, action?: string) {
  return query(
    databaseUrl,
    `SELECT * FROM audit_entries WHERE target_id = $1 AND ($2::text IS NULL OR action = $2) ORDER BY created_at, id`,
    [targetId, action ?? null],
  );
}

/** Active admins in the database (role admin, status active). */
export async function activeAdminCount(databaseUrl: string): Promise<number> {
  const [row] = await query<{ n: number }>(databaseUrl, "SELECT count(*)::int AS n FROM users WHERE role = 'admin' AND status = 'active'");
  return row!.n;
}

/** An ISO date `seconds` from now. */
export const fromNow = (seconds: number) => new Date(Date.now() + seconds * 1000).toISOString();

/** A problem+json answer with this status and stable code (and, for 400s, these field errors if given). */
export function expectProblem(
  response: { status: number; headers: Record<string, string>; body: Record<string, unknown> },
  status: number,
  code: string,
  fields?: string[],
): void {
  expect([response.status, response.body.code]).toEqual([status, code]);
  expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
  // Exactly the contract's members, and the correlation id the answer's header carries.
  expect(response.body).toEqual({
    type: `urn:problem:user-service:${code.toLowerCase().replace(/_/g, '-')}`,
    title: expect.any(String),
    status,
    detail: expect.any(String),
    code,
    correlationId: response.headers['x-correlation-id'],
    ...(response.body.errors ? { errors: expect.any(Array) } : {}),
  });
  if (fields) expect((response.body.errors as { field: string }[]).map((e) => e.field).sort()).toEqual([...fields].sort());
  expect(JSON.stringify(response.body)).not.toMatch(/stack|at \/|SQL|typeorm|QueryFailed/i);
}
