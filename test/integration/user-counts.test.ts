import { Client } from 'pg';

import { ADMIN_STATS_QUERY } from '../../src/modules/users/users-admin.queries.js';
import { createTestDatabase } from '../utils/test-app.js';

const SHARDS = 64;

interface Count {
  status: string;
  role: string;
  verified: boolean;
  count: number;
}

/** user_counts, the exact counts behind /admin/stats, on a real PostgreSQL with the migrations applied. */
describe('user_counts (real PostgreSQL)', () => {
  let database: { url: string; drop: () => Promise<void> };
  const clients: Client[] = [];
  let n = 0;

  const connect = async () => {
    const client = new Client({ connectionString: database.url });
    await client.connect();
    clients.push(client);
    return client;
  };
  const pidOf = async (client: Client) => Number((await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid);
  const insertUser = (client: Client, status = 'active') =>
    client.query(`INSERT INTO users (email, password_hash, name, status) VALUES ($1, 'x', 'Counted User', $2) RETURNING id`, [
      `counted-${(n += 1)}@example.com`,
      status,
    ]);
  const stats = async (client: Client) => {
    const { rows } = await client.query<{ counts: Count[] }>(ADMIN_STATS_QUERY.text, ADMIN_STATS_QUERY.values);
    return rows[0]!.counts.map((c) => ({ ...c, count: Number(c.count) })).filter((c) => c.count !== 0);
  };

  beforeAll(async () => {
    database = await createTestDatabase();
  });
  afterAll(async () => {
    await Promise.all(clients.map((client) => client.end()));
    await database?.drop();
  });

  it('a sign-up does not wait for another one still in its transaction (they count on different shards)', async () => {
    const first = await connect();
    let second = await connect();
    // Two sessions whose shards are the same would wait for each other: take another session then (1 in 64).
    while ((await pidOf(second)) % SHARDS === (await pidOf(first)) % SHARDS) second = await connect();

    await first.query('BEGIN');
    await insertUser(first);
    // The old single row per (status, role, verified) made this wait for the first transaction's commit.
    await second.query(`SET lock_timeout = '2s'`);
    await expect(insertUser(second)).resolves.toMatchObject({ rowCount: 1 });
    await first.query('COMMIT');

    expect(await stats(first)).toEqual([{ status: 'active', role: 'user', verified: false, count: 2 }]);
  });

  it('stays exact across shards through inserts, status changes and deletes from many sessions', async () => {
    const sessions = await Promise.all(Array.from({ length: 6 }, connect));
    const ids: string[] = [];
    await Promise.all(
      sessions.map(async (session) => {
        for (let i = 0; i < 5; i += 1) ids.push((await insertUser(session)).rows[0].id as string);
      }),
    );
    await sessions[1]!.query(`UPDATE users SET status = 'blocked' WHERE id = ANY($1::uuid[])`, [ids.slice(0, 7)]);
    await sessions[2]!.query(`UPDATE users SET email_verified = true WHERE id = ANY($1::uuid[])`, [ids.slice(7, 10)]);
    await sessions[3]!.query(`DELETE FROM users WHERE id = ANY($1::uuid[])`, [ids.slice(10, 12)]);

    const { rows: real } = await sessions[0]!.query<Count>(
      `SELECT status, role, email_verified AS verified, count(*)::int AS count FROM users GROUP BY 1, 2, 3 ORDER BY 1, 2, 3`,
    );
    const counted = (await stats(sessions[0]!)).sort((a, b) => `${a.status}${a.verified}`.localeCompare(`${b.status}${b.verified}`));
    expect(counted).toEqual(real.sort((a, b) => `${a.status}${a.verified}`.localeCompare(`${b.status}${b.verified}`)));
    expect(counted.reduce((sum, c) => sum + c.count, 0)).toBe(2 + 30 - 2);
    // More than one shard is in use: the contention the shards are there to remove is gone.
    const { rows: shards } = await sessions[0]!.query<{ shards: number }>('SELECT count(DISTINCT shard)::int AS shards FROM user_counts');
    expect(shards[0]!.shards).toBeGreaterThan(1);
  });
});
