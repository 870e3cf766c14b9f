import { randomBytes } from 'node:crypto';

import { Client } from 'pg';
import { DataSource } from 'typeorm';

import { migrations } from '../../migrations/index.js';
import { pendingMigrationNames, revertLastMigrationLocked, runMigrationsLocked } from '../../src/core/database/migrator.js';
import { buildDataSourceOptions } from '../../src/core/database/typeorm-options.js';
import { query } from '../utils/test-app.js';

describe('migrations (real PostgreSQL)', () => {
  const name = `user_service_test_empty_${randomBytes(4).toString('hex')}`;
  const url = Object.assign(new URL(process.env.TEST_DATABASE_URL!), { pathname: `/${name}` }).toString();
  const admin = async (sql: string) => {
    const client = new Client({ connectionString: process.env.TEST_DATABASE_URL });
    await client.connect();
    await client.query(sql).finally(() => client.end());
  };

  beforeAll(() => admin(`CREATE DATABASE ${name}`));
  afterAll(() => admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));

  it('applies once when several replicas start on an empty database together, and reverts cleanly', async () => {
    const replicas = Array.from({ length: 3 }, () => new DataSource(buildDataSourceOptions(url)));
    await Promise.all(replicas.map((replica) => replica.initialize()));
    try {
      // What a replica with MIGRATIONS_ON_START=false checks: on an empty database, everything (and it creates nothing).
      expect(await pendingMigrationNames(replicas[0]!)).toEqual(migrations.map((migration) => migration.name));
      expect(await query(url, "SELECT to_regclass('migrations') AS t")).toEqual([{ t: null }]);
      const applied = await Promise.all(replicas.map((replica) => runMigrationsLocked(replica)));
      expect(await pendingMigrationNames(replicas[1]!)).toEqual([]);
      expect(applied.map((list) => list.length).sort()).toEqual([0, 0, migrations.length]);
      expect(await query(url, 'SELECT name FROM migrations')).toHaveLength(migrations.length);
      expect(await query(url, "SELECT conname FROM pg_constraint WHERE conname = 'users_email_key'")).toHaveLength(1);

      await revertLastMigrationLocked(replicas[0]!);
      expect(await pendingMigrationNames(replicas[0]!)).toEqual([migrations.at(-1)!.name]);
      for (let i = 1; i < migrations.length; i += 1) await revertLastMigrationLocked(replicas[0]!);
      const tables = await query(url, "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'migrations'");
      expect(tables).toEqual([]);
    } finally {
      await Promise.all(replicas.map((replica) => replica.destroy()));
    }
  });
});
