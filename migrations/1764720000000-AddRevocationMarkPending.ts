import type { MigrationInterface, QueryRunner } from 'typeorm';

export class AddRevocationMarkPending1764720000000 implements MigrationInterface {
  name = 'AddRevocationMarkPending1764720000000';

  async up(db: QueryRunner): Promise<void> {
    // Set by the statement that ends a session, cleared once its revocation mark is in Redis:
    // until then every replica loads these rows and refuses their tokens (a mark that failed
    // to reach Redis must bind every replica, and survive the crash of the one that wrote it).
    await db.query(`ALTER TABLE sessions ADD COLUMN revocation_mark_pending boolean NOT NULL DEFAULT false`);
    // Every replica reads the pending rows every second: only they are indexed.
    await db.query(`CREATE INDEX sessions_revocation_mark_pending_idx ON sessions (revoked_at) WHERE revocation_mark_pending`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`DROP INDEX sessions_revocation_mark_pending_idx`);
    await db.query(`ALTER TABLE sessions DROP COLUMN revocation_mark_pending`);
  }
}
