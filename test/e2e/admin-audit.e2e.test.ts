import type { AuditRecord } from '../../src/modules/audit/audit.service.js';
import { AdminService } from '../../src/modules/admin/admin.service.js';
import { UsersService } from '../../src/modules/users/users.service.js';
import { buildRegistration, registerUser } from '../factories/user.factory.js';
import { bearer, createAdmin, expectProblem, fromNow, signIn } from '../utils/admin.js';
import { outboxEvents } from '../utils/outbox.js';
import { bootTestApp, query, type TestApp } from '../utils/test-app.js';

/** An entry as GET /admin/audit-log returns it. */
type Entry = AuditRecord;

const LOCAL_IP = expect.stringMatching(/^(::ffff:)?127\.0\.0\.1$|^::1$/);
const CONTRACT_USER_FIELDS = ['createdAt', 'email', 'emailVerified', 'id', 'mobile', 'name', 'role', 'status', 'updatedAt'];

describe('Admin: the audit log (e2e)', () => {
  let t: TestApp;
  let admin: Awaited<ReturnType<typeof createAdmin>>;
  beforeAll(async () => {
    t = await bootTestApp();
    admin = await createAdmin(t);
  });
  afterAll(() => t.close());

  const auditLog = (params: Record<string, string | number> = {}, token = admin.accessToken) =>
    t.http().get('/api/v1/admin/audit-log').query(params).set(bearer(token));
  /** An admin request as a browser would send it. */
  const asAdmin = <T extends { set: (name: string, value: string) => T }>(request: T, correlationId: string) =>
    request.set('Authorization', `Bearer ${admin.accessToken}`).set('User-Agent', 'AdminConsole/3.1 (X11; Linux)').set('X-Correlation-ID', correlationId);

  async function walk(params: Record<string, string | number>): Promise<Entry[]> {
    const entries: Entry[] = [];
    let cursor: string | null = null;
    do {
      const page: Record<string, string | number> = cursor ? { ...params, cursor } : params;
      const { body } = await auditLog(page).expect(200);
      expect(body.data.length).toBeLessThanOrEqual(body.meta.limit);
      entries.push(...body.data);
      cursor = body.meta.nextCursor as string | null;
    } while (cursor);
    return entries;
  }

  it('each change writes one entry: actor, action, target, reason, ip, user agent, correlation id, before and after', async () => {
    const body = { ...buildRegistration(), role: 'user' };
    const created = await asAdmin(t.http().post('/api/v1/admin/users'), 'audit-create').send(body).expect(201);
    const id = created.body.id as string;
    const until = fromNow(86_400);
    await asAdmin(t.http().patch(`/api/v1/admin/users/${id}/status`), 'audit-suspend').send({ status: 'suspended', reason: 'Abuse report #12', until }).expect(200);
    await asAdmin(t.http().patch(`/api/v1/admin/users/${id}/status`), 'audit-reactivate').send({ status: 'active', reason: 'Resolved' }).expect(200);
    await asAdmin(t.http().patch(`/api/v1/admin/users/${id}/role`), 'audit-promote').send({ role: 'admin', reason: 'Joins support' }).expect(200);
    await signIn(t, body.email, body.password);
    await asAdmin(t.http().patch(`/api/v1/admin/users/${id}/role`), 'audit-demote').send({ role: 'user' }).expect(200);
    await signIn(t, body.email, body.password);
    await asAdmin(t.http().delete(`/api/v1/admin/users/${id}/sessions`), 'audit-sessions').expect(204);
    await t.app.get(AdminService).setRoleByEmail({ type: 'cli' }, body.email, 'admin');

    const entries = await walk({ targetId: id });
    const byUser = { actorType: 'user', actorId: admin.id, targetId: id, ip: LOCAL_IP, userAgent: 'AdminConsole/3.1 (X11; Linux)' };
    const blank = { active: { status: 'active', statusReason: null, statusUntil: null } };
    expect(entries.reverse()).toEqual([
      { ...byUser, id: expect.any(String), createdAt: expect.any(String), action: 'user.created', reason: null, correlationId: 'audit-create', before: null, after: { email: body.email, name: body.name, role: 'user', status: 'active', emailVerified: false } },
      { ...byUser, id: expect.any(String), createdAt: expect.any(String), action: 'user.status_changed', reason: 'Abuse report #12', correlationId: 'audit-suspend', before: blank.active, after: { status: 'suspended', statusReason: 'Abuse report #12', statusUntil: until } },
      { ...byUser, id: expect.any(String), createdAt: expect.any(String), action: 'user.status_changed', reason: 'Resolved', correlationId: 'audit-reactivate', before: { status: 'suspended', statusReason: 'Abuse report #12', statusUntil: until }, after: { status: 'active', statusReason: 'Resolved', statusUntil: null } },
      { ...byUser, id: expect.any(String), createdAt: expect.any(String), action: 'user.role_changed', reason: 'Joins support', correlationId: 'audit-promote', before: { role: 'user' }, after: { role: 'admin' } },
      { ...byUser, id: expect.any(String), createdAt: expect.any(String), action: 'user.role_changed', reason: null, correlationId: 'audit-demote', before: { role: 'admin' }, after: { role: 'user' } },
      { ...byUser, id: expect.any(String), createdAt: expect.any(String), action: 'user.sessions_revoked', reason: null, correlationId: 'audit-sessions', before: null, after: { sessionsEnded: 1 } },
      { id: expect.any(String), createdAt: expect.any(String), actorType: 'cli', actorId: null, targetId: id, ip: null, userAgent: null, action: 'user.role_changed', reason: null, correlationId: null, before: { role: 'user' }, after: { role: 'admin' } },
    ]);

    // The same correlation id travels with the events each change recorded.
    const events = await outboxEvents(t.databaseUrl, id);
    const correlationOf = (name: string) => events.filter((e) => e.name === name).map((e) => e.payload.correlationId);
    expect(correlationOf('user.created')).toEqual(['audit-create']);
    expect(correlationOf('user.status_changed')).toEqual(['audit-suspend', 'audit-reactivate']);
    expect(correlationOf('user.role_changed')).toEqual(['audit-promote', 'audit-demote', null]);
    expect(new Set(correlationOf('session.revoked'))).toEqual(new Set(['audit-demote', 'audit-sessions']));
  });

  it('keeps a correlation id of the longest accepted length (128) whole, and a generated one when none is sent', async () => {
    const user = await registerUser(t.http);
    const long = `c${'x'.repeat(126)}z`;
    await asAdmin(t.http().patch(`/api/v1/admin/users/${user.id}/status`), long).send({ status: 'blocked', reason: 'Long id' }).expect(200);
    const generated = await t.http().patch(`/api/v1/admin/users/${user.id}/status`).set(bearer(admin.accessToken)).send({ status: 'active', reason: 'No id' }).expect(200);
    const [blocked, reactivated] = (await walk({ targetId: user.id })).reverse();
    expect(blocked.correlationId).toBe(long);
    expect(reactivated.correlationId).toBe(generated.headers['x-correlation-id']);
    expect(reactivated.correlationId).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('a lifted suspension is written by the system', async () => {
    const user = await registerUser(t.http);
    await t.http().patch(`/api/v1/admin/users/${user.id}/status`).set(bearer(admin.accessToken)).send({ status: 'suspended', reason: 'Short', until: fromNow(60) }).expect(200);
    await query(t.databaseUrl, "UPDATE users SET status_until = now() - interval '1 second' WHERE id = $1", [user.id]);
    await t.app.get(UsersService).liftLapsedSuspensions();
    const [entry] = await walk({ targetId: user.id, action: 'user.suspension_lifted' });
    expect(entry).toMatchObject({ actorType: 'system', actorId: null, ip: null, userAgent: null, reason: 'suspension ended', before: { status: 'suspended', statusReason: 'Short' }, after: { status: 'active', statusReason: null, statusUntil: null } });
  });

  it('filters by actor, target and action, alone and together', async () => {
    const other = await createAdmin(t);
    const [u1, u2] = await Promise.all([registerUser(t.http), registerUser(t.http)]);
    const block = (id: string, token: string) => t.http().patch(`/api/v1/admin/users/${id}/status`).set(bearer(token)).send({ status: 'blocked', reason: 'Filter test' }).expect(200);
    await block(u1.id, other.accessToken);
    await t.http().patch(`/api/v1/admin/users/${u2.id}/role`).set(bearer(other.accessToken)).send({ role: 'admin' }).expect(200);
    await block(u2.id, admin.accessToken);

    const summary = (entries: Entry[]) => entries.map((e) => `${e.actorId === other.id ? 'other' : 'admin'} ${e.action} ${e.targetId === u1.id ? 'u1' : 'u2'}`);
    expect(summary(await walk({ actorId: other.id }))).toEqual(['other user.role_changed u2', 'other user.status_changed u1']);
    expect(summary(await walk({ targetId: u2.id }))).toEqual(['admin user.status_changed u2', 'other user.role_changed u2']);
    expect(summary(await walk({ actorId: other.id, action: 'user.status_changed' }))).toEqual(['other user.status_changed u1']);
    expect(summary(await walk({ actorId: admin.id, targetId: u2.id, action: 'user.status_changed' }))).toEqual(['admin user.status_changed u2']);
    expect(await walk({ actorId: other.id, targetId: u1.id, action: 'user.role_changed' })).toEqual([]);
    const byAction = await walk({ action: 'user.role_changed', limit: 100 });
    expect(byAction.length).toBeGreaterThan(0);
    expect(byAction.every((e) => e.action === 'user.role_changed')).toBe(true);
  });

  it('pages by keyset, newest first with the id breaking ties, every entry once', async () => {
    // Lifted in one transaction: these entries share one created_at.
    const users = await Promise.all(Array.from({ length: 7 }, () => registerUser(t.http)));
    for (const user of users) {
      await t.http().patch(`/api/v1/admin/users/${user.id}/status`).set(bearer(admin.accessToken)).send({ status: 'suspended', reason: 'Batch', until: fromNow(60) }).expect(200);
    }
    await query(t.databaseUrl, "UPDATE users SET status_until = now() - interval '1 second' WHERE id = ANY($1::uuid[])", [users.map((u) => u.id)]);
    expect(await t.app.get(UsersService).liftLapsedSuspensions()).toBe(7);
    const [{ n }] = await query<{ n: number }>(t.databaseUrl, "SELECT count(DISTINCT created_at)::int AS n FROM audit_entries WHERE action = 'user.suspension_lifted' AND target_id = ANY($1::uuid[])", [users.map((u) => u.id)]);
    expect(n).toBe(1);

    const all = await query<{ id: string }>(t.databaseUrl, 'SELECT id FROM audit_entries ORDER BY created_at DESC, id DESC');
    expect(all.length).toBeGreaterThan(20);
    const pages: number[] = [];
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const params: Record<string, string | number> = cursor ? { limit: 3, cursor } : { limit: 3 };
      const { body } = await auditLog(params).expect(200);
      pages.push(body.data.length);
      seen.push(...body.data.map((e: Entry) => e.id));
      cursor = body.meta.nextCursor as string | null;
      expect(body.meta.limit).toBe(3);
    } while (cursor);
    expect(seen).toEqual(all.map((r) => r.id));
    expect(pages.slice(0, -1).every((size) => size === 3)).toBe(true);

    // Filtered, in pages of 2 through the entries that share a created_at.
    const lifted = await walk({ action: 'user.suspension_lifted', limit: 2 });
    const expected = await query<{ id: string }>(t.databaseUrl, "SELECT id FROM audit_entries WHERE action = 'user.suspension_lifted' ORDER BY created_at DESC, id DESC");
    expect(lifted.map((e) => e.id)).toEqual(expected.map((r) => r.id));
    expect(users.every((u) => lifted.some((e) => e.targetId === u.id))).toBe(true);
  });

  it('rejects bad filters, limits, unknown parameters and foreign cursors with 400', async () => {
    const cursor = (await auditLog({ limit: 1, action: 'user.status_changed' }).expect(200)).body.meta.nextCursor as string;
    expect(cursor).toEqual(expect.any(String));
    for (const [params, field] of [
      [{ actorId: 'someone' }, 'actorId'],
      [{ targetId: '123' }, 'targetId'],
      [{ action: 'user.deleted' }, 'action'],
      [{ action: 'drop table' }, 'action'],
      [{ limit: 0 }, 'limit'],
      [{ limit: 101 }, 'limit'],
      [{ limit: 'ten' }, 'limit'],
      [{ since: '2026-01-01' }, 'since'],
      [{ cursor }, 'cursor'],
      [{ cursor, action: 'user.role_changed' }, 'cursor'],
      [{ cursor: `${cursor.slice(0, 5)}${cursor[5] === 'A' ? 'B' : 'A'}${cursor.slice(6)}`, action: 'user.status_changed' }, 'cursor'],
    ] as [Record<string, string | number>, string][]) {
      expectProblem(await auditLog(params), 400, 'VALIDATION_FAILED', [field]);
    }
    await auditLog({ cursor, action: 'user.status_changed' }).expect(200);
  });

  it('is append-only: UPDATE, DELETE and TRUNCATE fail, whoever runs them', async () => {
    const user = await registerUser(t.http);
    await t.http().patch(`/api/v1/admin/users/${user.id}/status`).set(bearer(admin.accessToken)).send({ status: 'blocked', reason: 'Original reason' }).expect(200);
    const [before] = await query(t.databaseUrl, 'SELECT * FROM audit_entries WHERE target_id = $1', [user.id]);
    for (const sql of [
      "UPDATE audit_entries SET reason = 'Rewritten' WHERE target_id = $1",
      'DELETE FROM audit_entries WHERE target_id = $1',
      'TRUNCATE audit_entries',
    ]) {
      await expect(query(t.databaseUrl, sql, sql.includes('$1') ? [user.id] : [])).rejects.toThrow(/append-only/);
    }
    expect(await query(t.databaseUrl, 'SELECT * FROM audit_entries WHERE target_id = $1', [user.id])).toEqual([before]);
  });

  it('never shows in non-admin answers about the user, but is in their own export', async () => {
    const user = await registerUser(t.http);
    const suspend = { status: 'suspended', reason: 'Secret-moderation-note', until: fromNow(3_600) };
    await t.http().patch(`/api/v1/admin/users/${user.id}/status`).set(bearer(admin.accessToken)).send(suspend).expect(200);
    await t.http().patch(`/api/v1/admin/users/${user.id}/status`).set(bearer(admin.accessToken)).send({ status: 'active', reason: 'Another-secret-note' }).expect(200);
    const { accessToken } = await signIn(t, user.email, user.password);

    for (const response of [
      await t.http().get('/api/v1/users/me').set(bearer(accessToken)).expect(200),
      await t.http().get(`/api/v1/users/${user.id}`).set(bearer(accessToken)).expect(200),
      await t.http().get(`/api/v1/users/${user.id}`).set(bearer(admin.accessToken)).expect(200),
      await t.http().patch('/api/v1/users/me').set(bearer(accessToken)).send({ name: 'Renamed' }).expect(200),
    ]) {
      expect(Object.keys(response.body).sort()).toEqual(CONTRACT_USER_FIELDS);
      expect(JSON.stringify(response.body)).not.toMatch(/secret-|audit|statusReason|actor/i);
    }
    const exported = await t.http().get('/api/v1/users/me/export').set(bearer(accessToken)).expect(200);
    expect(exported.body.auditEntries).toEqual([
      expect.objectContaining({ action: 'user.status_changed', reason: 'Secret-moderation-note', createdAt: expect.any(String) }),
      expect.objectContaining({ action: 'user.status_changed', reason: 'Another-secret-note' }),
    ]);
    // What was done and why, not the acting admin's id, address or browser (their data, not the user's).
    for (const entry of exported.body.auditEntries) {
      expect(Object.keys(entry).sort()).toEqual(['action', 'actorType', 'after', 'before', 'createdAt', 'id', 'reason']);
      expect(entry.actorType).toBe('user');
    }
    expect(exported.body.auditEntries[0].after).toMatchObject({ status: 'suspended', statusUntil: suspend.until });
    expect(JSON.stringify(exported.body.auditEntries)).not.toContain(admin.id);
    // Another user's export holds none of it.
    const stranger = await registerUser(t.http);
    const theirs = await t.http().get('/api/v1/users/me/export').set(bearer(stranger.accessToken)).expect(200);
    expect(theirs.body.auditEntries).toEqual([]);
  });
});
