import { DataSource } from 'typeorm';

import { seed, type SeedResult } from '../../src/cli/seed.js';
import { PasswordHasher } from '../../src/core/auth/password-hasher.js';
import type { AppConfig } from '../../src/core/config/config.js';
import { buildDataSourceOptions } from '../../src/core/database/typeorm-options.js';
import { createTestDatabase, query } from '../utils/test-app.js';

const PASSWORD = 'Seeded-password-1';
const USERS = 2_000;

describe('npm run seed: seed() (real PostgreSQL)', () => {
  let database: { url: string; drop: () => Promise<void> };
  let dataSource: DataSource;
  let hasher: PasswordHasher;
  let first: SeedResult;
  let second: SeedResult;
  const sql = <T = Record<string, unknown>>(text: string, params: unknown[] = []) => query<T>(database.url, text, params);
  const one = async (text: string) => Number(Object.values((await sql(text))[0]!)[0]);

  beforeAll(async () => {
    database = await createTestDatabase();
    dataSource = new DataSource(buildDataSourceOptions(database.url));
    await dataSource.initialize();
    hasher = new PasswordHasher({ bcryptCost: 4 } as AppConfig);
    const passwordHash = await hasher.hash(PASSWORD);
    // Batches of 700: the third one has no admin of its own, so its audit actors come from the database.
    first = await seed(dataSource, { users: USERS, passwordHash, batch: 700 });
    second = await seed(dataSource, { users: 300, passwordHash });
  }, 60_000);

  afterAll(async () => {
    await dataSource?.destroy();
    await database?.drop();
  });

  it('inserts what it reports, and a second run adds more users with emails numbered after the first run', async () => {
    expect(first).toMatchObject({ users: USERS, firstNumber: 1 });
    expect(second).toMatchObject({ users: 300, firstNumber: USERS + 1 });
    expect(await one('SELECT count(*) FROM users')).toBe(USERS + 300);
    expect(await one('SELECT count(*) FROM user_preferences')).toBe(first.preferences + second.preferences);
    expect(await one('SELECT count(*) FROM audit_entries')).toBe(first.auditEntries + second.auditEntries);
  });

  it('makes unique, lower-case emails of the form first.last.<n>@domain', async () => {
    expect(await one('SELECT count(DISTINCT email) FROM users')).toBe(USERS + 300);
    expect(await one('SELECT count(*) FROM users WHERE email <> lower(email)')).toBe(0);
    expect(await one(`SELECT count(*) FROM users WHERE email !~ '^[a-z0-9-]+\\.[a-z0-9-]+\\.[0-9]+@[a-z0-9.]+$'`)).toBe(0);
    const numbers = await sql<{ n: string }>(`SELECT substring(email FROM '\\.([0-9]+)@') AS n FROM users`);
    expect(new Set(numbers.map((row) => Number(row.n))).size).toBe(USERS + 300);
    expect(Math.max(...numbers.map((row) => Number(row.n)))).toBe(USERS + 300);
  });

  it('draws varied names (accents, hyphens, apostrophes), mobiles in E.164 for about 70%', async () => {
    expect(await one('SELECT count(DISTINCT name) FROM users')).toBeGreaterThan(1_000);
    expect(await one(`SELECT count(*) FROM users WHERE name ~ '[^ -~]'`)).toBeGreaterThan(0); // non-ASCII letters
    expect(await one(`SELECT count(*) FROM users WHERE name LIKE '%-%'`)).toBeGreaterThan(0);
    expect(await one(`SELECT count(*) FROM users WHERE name LIKE '%''%'`)).toBeGreaterThan(0);
    const mobiles = await one('SELECT avg((mobile IS NOT NULL)::int) FROM users');
    expect(mobiles).toBeGreaterThan(0.6);
    expect(mobiles).toBeLessThan(0.8);
    expect(await one(`SELECT count(*) FROM users WHERE mobile !~ '^\\+[1-9][0-9]{6,14}$'`)).toBe(0);
  });

  it('spreads statuses, roles, verification and sign-up times as documented', async () => {
    const byStatus = Object.fromEntries(
      (await sql<{ status: string; share: number }>('SELECT status, count(*)::float / sum(count(*)) OVER () AS share FROM users GROUP BY 1')).map(
        (row) => [row.status, row.share],
      ),
    );
    expect(Object.keys(byStatus).sort()).toEqual(['active', 'blocked', 'deactivated', 'suspended']);
    expect(byStatus.active).toBeGreaterThan(0.9);
    expect(byStatus.active).toBeLessThan(0.96);
    expect(await one(`SELECT count(*) FROM users WHERE status <> 'active' AND status_reason IS NULL`)).toBe(0);
    expect(await one(`SELECT count(*) FROM users WHERE status = 'active' AND (status_reason IS NOT NULL OR status_until IS NOT NULL)`)).toBe(0);
    // Suspensions: most still running, some lapsed (the sweep's work).
    expect(await one(`SELECT count(*) FROM users WHERE status = 'suspended' AND status_until > now()`)).toBeGreaterThan(0);
    expect(await one(`SELECT count(*) FROM users WHERE status = 'suspended' AND status_until <= now()`)).toBeGreaterThan(0);
    expect(await one(`SELECT count(*) FROM users WHERE status = 'suspended' AND status_until IS NULL`)).toBe(0);

    // The first user of each run and every 1000th after it: about 0.1%, all active and verified.
    expect(await one(`SELECT count(*) FROM users WHERE role = 'admin'`)).toBe(3);
    expect(await one(`SELECT count(*) FROM users WHERE role = 'admin' AND (status <> 'active' OR NOT email_verified)`)).toBe(0);

    const verified = await one('SELECT avg(email_verified::int) FROM users');
    expect(verified).toBeGreaterThan(0.7);
    expect(verified).toBeLessThan(0.9);
    expect(await one(`SELECT count(*) FROM users WHERE created_at < now() - interval '5 years 1 day' OR created_at > now()`)).toBe(0);
    expect(await one(`SELECT count(*) FROM users WHERE created_at < now() - interval '4 years'`)).toBeGreaterThan(300);
    expect(await one(`SELECT count(*) FROM users WHERE created_at > now() - interval '1 year'`)).toBeGreaterThan(300);
    expect(await one('SELECT count(*) FROM users WHERE updated_at < created_at')).toBe(0);
  });

  it('keeps user_counts equal to a real count', async () => {
    const counts = await sql('SELECT status, role, email_verified, sum(count)::int AS count FROM user_counts GROUP BY 1, 2, 3 HAVING sum(count) <> 0 ORDER BY 1, 2, 3');
    const real = await sql('SELECT status, role, email_verified, count(*)::int AS count FROM users GROUP BY 1, 2, 3 ORDER BY 1, 2, 3');
    expect(counts).toEqual(real);
  });

  it('gives about 40% of users preferences with valid languages and IANA time zones', async () => {
    const share = (await one('SELECT count(*) FROM user_preferences')) / (USERS + 300);
    expect(share).toBeGreaterThan(0.3);
    expect(share).toBeLessThan(0.5);
    expect(await one('SELECT count(DISTINCT language) FROM user_preferences')).toBeGreaterThan(10);
    expect(await one('SELECT count(*) FROM user_preferences p LEFT JOIN pg_timezone_names z ON z.name = p.timezone WHERE z.name IS NULL')).toBe(0);
    expect(await one('SELECT count(*) FROM user_preferences p JOIN users u ON u.id = p.user_id WHERE p.updated_at < u.created_at')).toBe(0);
    const languages = (await sql<{ language: string }>('SELECT DISTINCT language FROM user_preferences')).map((row) => row.language);
    for (const language of languages) expect(Intl.getCanonicalLocales(language)).toEqual([language]);
  });

  it('writes one audit entry per block and suspension, by an admin, after the user signed up', async () => {
    expect(await one(`SELECT count(*) FROM users WHERE status IN ('blocked', 'suspended')`)).toBe(await one('SELECT count(*) FROM audit_entries'));
    expect(
      await one(`SELECT count(*) FROM users u JOIN audit_entries a ON a.target_id = u.id
                  WHERE a.changes_after->>'status' = u.status AND a.reason = u.status_reason AND a.changes_before->>'status' = 'active'`),
    ).toBe(await one('SELECT count(*) FROM audit_entries'));
    expect(
      await one(`SELECT count(*) FROM audit_entries a JOIN users u ON u.id = a.target_id JOIN users admin ON admin.id = a.actor_id
                  WHERE a.actor_type = 'user' AND a.action = 'user.status_changed' AND admin.role = 'admin'
                    AND a.created_at >= u.created_at AND a.created_at >= admin.created_at AND a.ip IS NOT NULL`),
    ).toBe(await one('SELECT count(*) FROM audit_entries'));
  });

  it('gives every user the one password hash, which verifies', async () => {
    expect(await one('SELECT count(DISTINCT password_hash) FROM users')).toBe(1);
    const [{ password_hash: hash }] = await sql<{ password_hash: string }>(`SELECT password_hash FROM users WHERE role = 'user' LIMIT 1`);
    expect(await hasher.verify(PASSWORD, hash)).toBe(true);
    expect(await hasher.verify('Seeded-password-2', hash)).toBe(false);
  });

  it('leaves fresh statistics and a visibility map on users', async () => {
    // VACUUM and ANALYZE set these at once (pg_stat_* may lag behind).
    const [stats] = await sql<{ tuples: number; visible: number }>(
      `SELECT reltuples::float AS tuples, relallvisible::float / greatest(relpages, 1) AS visible FROM pg_class WHERE oid = 'users'::regclass`,
    );
    expect(stats!.tuples).toBe(USERS + 300);
    expect(stats!.visible).toBeGreaterThan(0.9);
  });
});
