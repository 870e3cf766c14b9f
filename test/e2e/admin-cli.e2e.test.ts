import { PassThrough, Readable } from 'node:stream';

import { PasswordHasher } from '../../src/core/auth/password-hasher.js';
import { loadConfig } from '../../src/core/config/config.js';
import { runAdminCli } from '../../src/cli/admin-cli.js';
import { createTestDatabase, query } from '../utils/test-app.js';

/** Runs the CLI in-process against this file's database, with `stdinText` piped in. */
async function cli(databaseUrl: string, args: string[], stdinText = '') {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (chunk) => (out += String(chunk)));
  stderr.on('data', (chunk) => (err += String(chunk)));
  const env = {
    NODE_ENV: 'test',
    DATABASE_URL: databaseUrl,
    JWT_PRIVATE_KEY: process.env.TEST_JWT_PRIVATE_KEY,
    JWT_PUBLIC_KEY: process.env.TEST_JWT_PUBLIC_KEY,
    BCRYPT_COST: '4',
    LOG_LEVEL: 'silent',
  };
  const code = await runAdminCli(args, { env, stdin: Readable.from([stdinText]), stdout, stderr });
  return { code, out, err };
}

describe('Operators CLI (e2e, real PostgreSQL)', () => {
  let database: { url: string; drop: () => Promise<void> };
  beforeAll(async () => {
    database = await createTestDatabase();
  });
  afterAll(() => database.drop());

  const userByEmail = async (email: string) =>
    (await query(database.url, 'SELECT id, role, status, email_verified, password_hash FROM users WHERE email = $1', [email]))[0];
  const auditOf = (id: string) =>
    query(database.url, 'SELECT actor_type, actor_id, action, changes_before, changes_after FROM audit_entries WHERE target_id = $1 ORDER BY created_at', [id]);

  it('create-admin reads the password from stdin and creates an active, verified admin, audited as cli', async () => {
    const result = await cli(database.url, ['create-admin', '--email', ' Ops@Example.com ', '--name', 'Ops Person'], 'Sturdy-ops-pass-1\n');

    expect(result).toMatchObject({ code: 0, err: '' });
    expect(result.out).toMatch(/^created admin ops@example\.com \([0-9a-f-]{36}\)\n$/);
    const row = await userByEmail('ops@example.com');
    expect(row).toMatchObject({ role: 'admin', status: 'active', email_verified: true });
    const hasher = new PasswordHasher(loadConfig({ NODE_ENV: 'test', BCRYPT_COST: '4' }));
    await hasher.onModuleInit();
    await expect(hasher.verify('Sturdy-ops-pass-1', row!.password_hash as string)).resolves.toBe(true);
    expect(await auditOf(row!.id as string)).toEqual([
      {
        actor_type: 'cli',
        actor_id: null,
        action: 'user.created',
        changes_before: null,
        changes_after: { email: 'ops@example.com', name: 'Ops Person', role: 'admin', status: 'active', emailVerified: true },
      },
    ]);
    const [event] = await query(database.url, "SELECT payload FROM outbox_events WHERE name = 'user.created' AND aggregate_id = $1", [row!.id]);
    expect(event!.payload).toMatchObject({ user: { email: 'ops@example.com', role: 'admin' } });
  });

  it('never takes the password as an argument', async () => {
    const result = await cli(database.url, ['create-admin', '--email', 'argv@example.com', '--password', 'Sturdy-ops-pass-1']);

    expect(result.code).toBe(2);
    expect(result.err).toMatch(/never an argument/);
    expect(await userByEmail('argv@example.com')).toBeUndefined();
  });

  it('refuses a weak password and an existing email with the API codes', async () => {
    const weak = await cli(database.url, ['create-admin', '--email', 'weak@example.com'], 'password1\n');
    expect(weak.code).toBe(1);
    expect(weak.err).toMatch(/^VALIDATION_FAILED: .*password is too common/);

    const taken = await cli(database.url, ['create-admin', '--email', 'ops@example.com'], 'Sturdy-ops-pass-2\n');
    expect(taken.code).toBe(1);
    expect(taken.err).toMatch(/^EMAIL_TAKEN/);
  });

  it('set-role promotes and demotes by email, audited as cli, and protects the last active admin', async () => {
    await cli(database.url, ['create-admin', '--email', 'second@example.com'], 'Sturdy-ops-pass-3\n');
    const demoted = await cli(database.url, ['set-role', '--email', 'second@example.com', '--role', 'user']);
    expect(demoted).toMatchObject({ code: 0, err: '' });
    expect(demoted.out).toMatch(/second@example\.com .* now has role user/);
    const second = await userByEmail('second@example.com');
    expect(second!.role).toBe('user');
    expect((await auditOf(second!.id as string)).at(-1)).toMatchObject({
      actor_type: 'cli',
      action: 'user.role_changed',
      changes_before: { role: 'admin' },
      changes_after: { role: 'user' },
    });

    // ops@example.com is now the only active admin.
    const last = await cli(database.url, ['set-role', '--email', 'ops@example.com', '--role', 'user']);
    expect(last.code).toBe(1);
    expect(last.err).toMatch(/^LAST_ADMIN/);
    expect((await userByEmail('ops@example.com'))!.role).toBe('admin');

    const promoted = await cli(database.url, ['set-role', '--email', 'second@example.com', '--role', 'admin']);
    expect(promoted.code).toBe(0);
    expect((await userByEmail('second@example.com'))!.role).toBe('admin');
  });

  it('answers an unknown email, role or command clearly', async () => {
    expect((await cli(database.url, ['set-role', '--email', 'nobody@example.com', '--role', 'user'])).err).toMatch(/^USER_NOT_FOUND/);
    const badRole = await cli(database.url, ['set-role', '--email', 'ops@example.com', '--role', 'root']);
    expect(badRole).toMatchObject({ code: 1 });
    expect(badRole.err).toMatch(/role must be one of user, admin/);
    const unknown = await cli(database.url, ['drop-everything']);
    expect(unknown.code).toBe(2);
    expect(unknown.err).toMatch(/unknown command drop-everything[\s\S]*usage:/);
  });
});
