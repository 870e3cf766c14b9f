import type { MigrationInterface, QueryRunner } from 'typeorm';

export class AddLifecycleOutboxPreferences1763884800000 implements MigrationInterface {
  name = 'AddLifecycleOutboxPreferences1763884800000';

  async up(db: QueryRunner): Promise<void> {
    // Single-use tokens mailed to users (email verification, password reset), by hash only.
    await db.query(`
      CREATE TABLE user_tokens (
        token_hash bytea NOT NULL,
        user_id uuid NOT NULL,
        purpose varchar(32) NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        expires_at timestamptz NOT NULL,
        used_at timestamptz,
        CONSTRAINT user_tokens_pkey PRIMARY KEY (token_hash),
        CONSTRAINT user_tokens_user_id_fkey FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE,
        CONSTRAINT user_tokens_purpose_check CHECK (purpose IN ('email_verification', 'password_reset'))
      )`);
    await db.query(`CREATE INDEX user_tokens_user_id_purpose_idx ON user_tokens (user_id, purpose) WHERE used_at IS NULL`);

    await db.query(`
      CREATE TABLE user_preferences (
        user_id uuid NOT NULL,
        email_notifications boolean NOT NULL DEFAULT true,
        push_notifications boolean NOT NULL DEFAULT true,
        sms_notifications boolean NOT NULL DEFAULT false,
        marketing_emails boolean NOT NULL DEFAULT false,
        language varchar(35) NOT NULL DEFAULT 'en',
        timezone varchar(64) NOT NULL DEFAULT 'UTC',
        push_token varchar(4096),
        updated_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT user_preferences_pkey PRIMARY KEY (user_id),
        CONSTRAINT user_preferences_user_id_fkey FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE
      )`);

    // Transactional outbox: written in the same transaction as the change it announces.
    await db.query(`
      CREATE TABLE outbox_events (
        id bigint GENERATED ALWAYS AS IDENTITY,
        event_id uuid NOT NULL,
        name varchar(100) NOT NULL,
        aggregate_id uuid,
        payload jsonb NOT NULL,
        correlation_id varchar(128),
        created_at timestamptz NOT NULL DEFAULT now(),
        published_at timestamptz,
        attempts integer NOT NULL DEFAULT 0,
        last_error varchar(500),
        CONSTRAINT outbox_events_pkey PRIMARY KEY (id),
        CONSTRAINT outbox_events_event_id_key UNIQUE (event_id)
      )`);
    await db.query(`CREATE INDEX outbox_events_unpublished_idx ON outbox_events (id) WHERE published_at IS NULL`);
    await db.query(`CREATE INDEX outbox_events_published_at_idx ON outbox_events (published_at) WHERE published_at IS NOT NULL`);

    // Who did what to whom: written by every admin change (and exported to the user it is about).
    await db.query(`
      CREATE TABLE audit_entries (
        id uuid NOT NULL DEFAULT gen_random_uuid(),
        actor_id uuid,
        action varchar(64) NOT NULL,
        target_id uuid,
        reason varchar(500),
        ip varchar(45),
        details jsonb,
        created_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT audit_entries_pkey PRIMARY KEY (id)
      )`);
    await db.query(`CREATE INDEX audit_entries_target_id_created_at_idx ON audit_entries (target_id, created_at)`);
    await db.query(`CREATE INDEX audit_entries_created_at_idx ON audit_entries (created_at, id)`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`DROP TABLE audit_entries`);
    await db.query(`DROP TABLE outbox_events`);
    await db.query(`DROP TABLE user_preferences`);
    await db.query(`DROP TABLE user_tokens`);
  }
}
