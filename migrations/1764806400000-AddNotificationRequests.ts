import type { MigrationInterface, QueryRunner } from 'typeorm';

export class AddNotificationRequests1764806400000 implements MigrationInterface {
  name = 'AddNotificationRequests1764806400000';

  async up(db: QueryRunner): Promise<void> {
    // One row per notification.requested handled, written in the transaction that records its
    // dispatch or suppression in the outbox: a redelivered request finds its row and does nothing.
    await db.query(`
      CREATE TABLE notification_requests (
        request_key varchar(200) PRIMARY KEY,
        user_id uuid NOT NULL,
        channel varchar(8) NOT NULL,
        outcome varchar(16) NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
    // Rows are pruned by age once redeliveries can no longer come.
    await db.query(`CREATE INDEX notification_requests_created_at_idx ON notification_requests (created_at)`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`DROP TABLE notification_requests`);
  }
}
