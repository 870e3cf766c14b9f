import type { MigrationInterface, QueryRunner } from 'typeorm';

/** Rows per (status, role, email_verified): enough that concurrent transactions, one per pool connection, rarely share one. */
const SHARDS = 64;

/**
 * user_counts had one row per (status, role, email_verified): every sign-up
 * updated the same row (active, user, unverified) and held its lock until
 * commit, so sign-ups ran one at a time, about 70 a second here whatever the
 * cores (measured under the benchmark's registration burst). Each
 * combination now has up to SHARDS rows, and a statement adds its deltas to
 * the shard of its own database session: two transactions in flight at once
 * are on two connections, so they almost never wait for each other.
 * /admin/stats sums the shards (at most SHARDS rows per combination).
 */
export class ShardUserCounts1764892800000 implements MigrationInterface {
  name = 'ShardUserCounts1764892800000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`LOCK TABLE users IN SHARE MODE`);
    await db.query(`ALTER TABLE user_counts ADD COLUMN shard smallint NOT NULL DEFAULT 0`);
    await db.query(`ALTER TABLE user_counts DROP CONSTRAINT user_counts_pkey`);
    await db.query(`ALTER TABLE user_counts ADD CONSTRAINT user_counts_pkey PRIMARY KEY (status, role, email_verified, shard)`);
    await db.query(`ALTER TABLE user_counts ALTER COLUMN shard DROP DEFAULT`);
    await db.query(userCountsApply(`pg_backend_pid() % ${SHARDS}`));
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`LOCK TABLE users IN SHARE MODE`);
    await db.query(`CREATE TEMPORARY TABLE user_counts_merged ON COMMIT DROP AS
      SELECT status, role, email_verified, sum(count)::bigint AS count FROM user_counts GROUP BY 1, 2, 3`);
    await db.query(`DELETE FROM user_counts`);
    await db.query(`ALTER TABLE user_counts DROP CONSTRAINT user_counts_pkey`);
    await db.query(`ALTER TABLE user_counts DROP COLUMN shard`);
    await db.query(`ALTER TABLE user_counts ADD CONSTRAINT user_counts_pkey PRIMARY KEY (status, role, email_verified)`);
    await db.query(`INSERT INTO user_counts (status, role, email_verified, count) SELECT status, role, email_verified, count FROM user_counts_merged`);
    await db.query(userCountsApply(null));
  }
}

/** The trigger function of 1764633600000-AddAdministration, with the shard column when `shard` is an expression. */
function userCountsApply(shard: string | null): string {
  const columns = shard ? 'status, role, email_verified, shard' : 'status, role, email_verified';
  const key = shard ? `status, role, email_verified, ${shard}` : 'status, role, email_verified';
  const upsert = `ON CONFLICT (${columns}) DO UPDATE SET count = c.count + EXCLUDED.count`;
  return `
    CREATE OR REPLACE FUNCTION user_counts_apply() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF TG_OP = 'TRUNCATE' THEN
        DELETE FROM user_counts;
      ELSIF TG_OP = 'INSERT' THEN
        INSERT INTO user_counts AS c (${columns}, count)
        SELECT ${key}, count(*) FROM new_rows GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
        ${upsert};
      ELSIF TG_OP = 'DELETE' THEN
        INSERT INTO user_counts AS c (${columns}, count)
        SELECT ${key}, -count(*) FROM old_rows GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
        ${upsert};
      ELSE
        -- Rows are locked in key order, so two concurrent statements cannot deadlock here.
        INSERT INTO user_counts AS c (${columns}, count)
        SELECT ${key}, sum(delta) FROM (
          SELECT status, role, email_verified, 1 AS delta FROM new_rows
          UNION ALL
          SELECT status, role, email_verified, -1 FROM old_rows
        ) changes GROUP BY 1, 2, 3 HAVING sum(delta) <> 0 ORDER BY 1, 2, 3
        ${upsert};
      END IF;
      RETURN NULL;
    END $$`;
}
