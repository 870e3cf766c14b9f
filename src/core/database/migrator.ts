import type { DataSource, Migration } from 'typeorm';

// Any stable 64-bit number; all replicas must agree on it.
const MIGRATION_LOCK_ID = 727_001_001;

/**
 * Applies pending migrations while holding a PostgreSQL advisory lock, so
 * replicas starting together run them one at a time (the later ones find
 * nothing left to do).
 */
export async function runMigrationsLocked(dataSource: DataSource): Promise<Migration[]> {
  const runner = dataSource.createQueryRunner();
  await runner.connect();
  try {
    await runner.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_ID]);
    try {
      return await dataSource.runMigrations({ transaction: 'each' });
    } finally {
      await runner.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_ID]);
    }
  } finally {
    await runner.release();
  }
}

export async function revertLastMigrationLocked(dataSource: DataSource): Promise<void> {
  const runner = dataSource.createQueryRunner();
  await runner.connect();
  try {
    await runner.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_ID]);
    try {
      await dataSource.undoLastMigration({ transaction: 'each' });
    } finally {
      await runner.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_ID]);
    }
  } finally {
    await runner.release();
  }
}

/** Names of the migrations this build has that the database has not applied (read-only: creates no table). */
export async function pendingMigrationNames(dataSource: DataSource): Promise<string[]> {
  const [{ table }] = (await dataSource.query(`SELECT to_regclass('migrations') AS table`)) as [{ table: string | null }];
  const applied = new Set<string>();
  if (table !== null) {
    for (const row of (await dataSource.query('SELECT name FROM migrations')) as { name: string }[]) applied.add(row.name);
  }
  return dataSource.migrations.map((migration) => migration.name ?? migration.constructor.name).filter((name) => !applied.has(name));
}
