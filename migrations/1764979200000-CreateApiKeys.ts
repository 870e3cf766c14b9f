import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Service API keys (X-API-Key). Only the SHA-256 of a key is kept; its prefix
 * (`usk_` and 8 characters) is stored in clear to name it in lists and logs.
 * created_by is the admin who created it, null for the operators' CLI.
 */
export class CreateApiKeys1764979200000 implements MigrationInterface {
  name = 'CreateApiKeys1764979200000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`
      CREATE TABLE api_keys (
        id uuid NOT NULL DEFAULT gen_random_uuid(),
        name varchar(100) NOT NULL,
        scopes text[] NOT NULL,
        prefix varchar(16) NOT NULL,
        secret_hash bytea NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        created_by uuid,
        expires_at timestamptz,
        revoked_at timestamptz,
        last_used_at timestamptz,
        CONSTRAINT api_keys_pkey PRIMARY KEY (id),
        CONSTRAINT api_keys_prefix_key UNIQUE (prefix),
        CONSTRAINT api_keys_secret_hash_key UNIQUE (secret_hash),
        CONSTRAINT api_keys_created_by_fkey FOREIGN KEY (created_by) REFERENCES users (id) ON DELETE SET NULL,
        CONSTRAINT api_keys_scopes_check CHECK (cardinality(scopes) > 0)
      )`);
    // The admin list: newest first, keyset-paged.
    await db.query(`CREATE INDEX api_keys_created_at_id_idx ON api_keys (created_at, id)`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`DROP TABLE api_keys`);
  }
}
