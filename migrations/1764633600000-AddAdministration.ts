import type { MigrationInterface, QueryRunner } from 'typeorm';

/** The separators of searchWords() in src/modules/users/users-admin.queries.ts, as a PostgreSQL E'' regex (frozen here: a migration never changes). */
const TERM_SEPARATORS_SQL = '[ \\t\\r\\n!-/:-@[-`{-~]+';

export class AddAdministration1764633600000 implements MigrationInterface {
  name = 'AddAdministration1764633600000';

  async up(db: QueryRunner): Promise<void> {
    // Admin search: keyset pages in (created_at, id) order, narrowed by status, role or a prefix.
    await db.query(`CREATE INDEX users_status_created_at_id_idx ON users (status, created_at, id)`);
    await db.query(`CREATE INDEX users_role_created_at_id_idx ON users (role, created_at, id)`);
    // Prefix search, in index order at any size: one row per searchable term of a user
    // (the email, and every word of the name, lower-cased), kept by triggers. With
    // collation C one btree serves LIKE 'prefix%', ORDER BY term and the keyset comparison.
    await db.query(`
      CREATE TABLE user_search_terms (
        term varchar(254) COLLATE "C" NOT NULL,
        user_id uuid NOT NULL,
        CONSTRAINT user_search_terms_pkey PRIMARY KEY (term, user_id),
        CONSTRAINT user_search_terms_user_id_fkey FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE
      )`);
    await db.query(`CREATE INDEX user_search_terms_user_id_term_idx ON user_search_terms (user_id, term)`);
    // Words split at whitespace and ASCII punctuation only, exactly where the admin search splits
    // its query (a class like [:alnum:] depends on the locale and splits some scripts inside words).
    await db.query(`
      CREATE FUNCTION user_search_terms_of(email varchar, name varchar) RETURNS varchar[]
        LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
        SELECT array_agg(DISTINCT term) FROM (
          SELECT email UNION ALL SELECT left(word, 254) FROM regexp_split_to_table(lower(name), E'${TERM_SEPARATORS_SQL}') AS word WHERE word <> ''
        ) terms (term)
      $$`);
    await db.query(`
      CREATE FUNCTION user_search_terms_apply() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF TG_OP = 'INSERT' THEN
          INSERT INTO user_search_terms (term, user_id)
          SELECT unnest(user_search_terms_of(email, name)), id FROM new_rows;
        ELSE
          -- Only users whose email or name changed; their gone terms out, their new ones in (no key is both).
          WITH renamed AS (
            SELECT n.id, user_search_terms_of(n.email, n.name) AS terms
              FROM new_rows n JOIN old_rows o ON o.id = n.id
             WHERE (n.email, n.name) IS DISTINCT FROM (o.email, o.name)
          ), gone AS (
            DELETE FROM user_search_terms s USING renamed r WHERE s.user_id = r.id AND s.term <> ALL (r.terms)
          )
          INSERT INTO user_search_terms (term, user_id)
          SELECT unnest(terms), id FROM renamed
          ON CONFLICT DO NOTHING;
        END IF;
        RETURN NULL;
      END $$`);
    await db.query(`CREATE TRIGGER users_search_terms_insert AFTER INSERT ON users REFERENCING NEW TABLE AS new_rows
      FOR EACH STATEMENT EXECUTE FUNCTION user_search_terms_apply()`);
    await db.query(`CREATE TRIGGER users_search_terms_update AFTER UPDATE ON users REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
      FOR EACH STATEMENT EXECUTE FUNCTION user_search_terms_apply()`);
    await db.query(`INSERT INTO user_search_terms (term, user_id) SELECT unnest(user_search_terms_of(email, name)), id FROM users`);
    // The sweep that lifts lapsed suspensions reads only these rows.
    await db.query(`CREATE INDEX users_suspension_ends_idx ON users (status_until) WHERE status = 'suspended'`);

    // Exact user counts for /admin/stats in O(1): one row per (status, role, verified),
    // kept by statement-level triggers (one aggregate per statement, so a COPY of a
    // million rows costs one update, and an UPDATE that changes none of the three costs none).
    await db.query(`
      CREATE TABLE user_counts (
        status varchar(16) NOT NULL,
        role varchar(16) NOT NULL,
        email_verified boolean NOT NULL,
        count bigint NOT NULL,
        CONSTRAINT user_counts_pkey PRIMARY KEY (status, role, email_verified)
      )`);
    await db.query(`
      CREATE FUNCTION user_counts_apply() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF TG_OP = 'TRUNCATE' THEN
          DELETE FROM user_counts;
        ELSIF TG_OP = 'INSERT' THEN
          INSERT INTO user_counts AS c (status, role, email_verified, count)
          SELECT status, role, email_verified, count(*) FROM new_rows GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
          ON CONFLICT (status, role, email_verified) DO UPDATE SET count = c.count + EXCLUDED.count;
        ELSIF TG_OP = 'DELETE' THEN
          INSERT INTO user_counts AS c (status, role, email_verified, count)
          SELECT status, role, email_verified, -count(*) FROM old_rows GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
          ON CONFLICT (status, role, email_verified) DO UPDATE SET count = c.count + EXCLUDED.count;
        ELSE
          -- Rows are locked in key order, so two concurrent statements cannot deadlock here.
          INSERT INTO user_counts AS c (status, role, email_verified, count)
          SELECT status, role, email_verified, sum(delta) FROM (
            SELECT status, role, email_verified, 1 AS delta FROM new_rows
            UNION ALL
            SELECT status, role, email_verified, -1 FROM old_rows
          ) changes GROUP BY 1, 2, 3 HAVING sum(delta) <> 0 ORDER BY 1, 2, 3
          ON CONFLICT (status, role, email_verified) DO UPDATE SET count = c.count + EXCLUDED.count;
        END IF;
        RETURN NULL;
      END $$`);
    await db.query(`CREATE TRIGGER users_counts_insert AFTER INSERT ON users REFERENCING NEW TABLE AS new_rows
      FOR EACH STATEMENT EXECUTE FUNCTION user_counts_apply()`);
    await db.query(`CREATE TRIGGER users_counts_update AFTER UPDATE ON users REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
      FOR EACH STATEMENT EXECUTE FUNCTION user_counts_apply()`);
    await db.query(`CREATE TRIGGER users_counts_delete AFTER DELETE ON users REFERENCING OLD TABLE AS old_rows
      FOR EACH STATEMENT EXECUTE FUNCTION user_counts_apply()`);
    await db.query(`CREATE TRIGGER users_counts_truncate AFTER TRUNCATE ON users FOR EACH STATEMENT EXECUTE FUNCTION user_counts_apply()`);
    // CREATE TRIGGER locked the table against writes: this count and the triggers agree.
    await db.query(`INSERT INTO user_counts SELECT status, role, email_verified, count(*) FROM users GROUP BY 1, 2, 3`);

    // The audit log: who (a user, the CLI or the system), from where, and what changed.
    await db.query(`ALTER TABLE audit_entries DROP COLUMN details`);
    await db.query(`
      ALTER TABLE audit_entries
        ADD COLUMN actor_type varchar(16) NOT NULL DEFAULT 'user',
        ADD COLUMN user_agent varchar(512),
        ADD COLUMN correlation_id varchar(128),
        ADD COLUMN changes_before jsonb,
        ADD COLUMN changes_after jsonb,
        ADD CONSTRAINT audit_entries_actor_type_check CHECK (actor_type IN ('user', 'cli', 'system'))`);
    await db.query(`DROP INDEX audit_entries_target_id_created_at_idx`);
    await db.query(`CREATE INDEX audit_entries_target_id_created_at_id_idx ON audit_entries (target_id, created_at, id)`);
    await db.query(`CREATE INDEX audit_entries_actor_id_created_at_id_idx ON audit_entries (actor_id, created_at, id)`);
    await db.query(`CREATE INDEX audit_entries_action_created_at_id_idx ON audit_entries (action, created_at, id)`);
    // Append-only, whoever connects: an UPDATE, DELETE or TRUNCATE fails.
    await db.query(`
      CREATE FUNCTION audit_entries_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        RAISE EXCEPTION 'audit_entries is append-only (% refused)', TG_OP USING ERRCODE = 'insufficient_privilege';
      END $$`);
    await db.query(`CREATE TRIGGER audit_entries_append_only BEFORE UPDATE OR DELETE ON audit_entries
      FOR EACH ROW EXECUTE FUNCTION audit_entries_append_only()`);
    await db.query(`CREATE TRIGGER audit_entries_no_truncate BEFORE TRUNCATE ON audit_entries
      FOR EACH STATEMENT EXECUTE FUNCTION audit_entries_append_only()`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`DROP TRIGGER audit_entries_no_truncate ON audit_entries`);
    await db.query(`DROP TRIGGER audit_entries_append_only ON audit_entries`);
    await db.query(`DROP FUNCTION audit_entries_append_only()`);
    await db.query(`DROP INDEX audit_entries_action_created_at_id_idx`);
    await db.query(`DROP INDEX audit_entries_actor_id_created_at_id_idx`);
    await db.query(`DROP INDEX audit_entries_target_id_created_at_id_idx`);
    await db.query(`CREATE INDEX audit_entries_target_id_created_at_idx ON audit_entries (target_id, created_at)`);
    await db.query(`
      ALTER TABLE audit_entries
        DROP CONSTRAINT audit_entries_actor_type_check,
        DROP COLUMN changes_after,
        DROP COLUMN changes_before,
        DROP COLUMN correlation_id,
        DROP COLUMN user_agent,
        DROP COLUMN actor_type`);
    await db.query(`ALTER TABLE audit_entries ADD COLUMN details jsonb`);

    await db.query(`DROP TRIGGER users_counts_truncate ON users`);
    await db.query(`DROP TRIGGER users_counts_delete ON users`);
    await db.query(`DROP TRIGGER users_counts_update ON users`);
    await db.query(`DROP TRIGGER users_counts_insert ON users`);
    await db.query(`DROP FUNCTION user_counts_apply()`);
    await db.query(`DROP TABLE user_counts`);

    await db.query(`DROP INDEX users_suspension_ends_idx`);
    await db.query(`DROP TRIGGER users_search_terms_update ON users`);
    await db.query(`DROP TRIGGER users_search_terms_insert ON users`);
    await db.query(`DROP FUNCTION user_search_terms_apply()`);
    await db.query(`DROP FUNCTION user_search_terms_of(varchar, varchar)`);
    await db.query(`DROP TABLE user_search_terms`);
    await db.query(`DROP INDEX users_role_created_at_id_idx`);
    await db.query(`DROP INDEX users_status_created_at_id_idx`);
  }
}
