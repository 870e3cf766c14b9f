import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, type EntityManager } from 'typeorm';

@Injectable()
export class NotificationRequestsRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  transaction<T>(work: (manager: EntityManager) => Promise<T>): Promise<T> {
    return this.dataSource.transaction(work);
  }

  /**
   * Records the request in the caller's transaction; false if it was recorded
   * before (a concurrent duplicate waits here for the first one's commit).
   */
  async claim(manager: EntityManager, key: string, request: { userId: string; channel: string }, outcome: string): Promise<boolean> {
    const rows = (await manager.query(
      `INSERT INTO notification_requests (request_key, user_id, channel, outcome) VALUES ($1, $2, $3, $4)
       ON CONFLICT (request_key) DO NOTHING RETURNING 1`,
      [key, request.userId, request.channel, outcome],
    )) as unknown[];
    return rows.length === 1;
  }

  /** Deletes up to batchSize rows older than the retention; returns how many went. */
  async pruneOlderThan(retentionSeconds: number, batchSize: number): Promise<number> {
    const [, count] = (await this.dataSource.query(
      `DELETE FROM notification_requests WHERE request_key IN (
         SELECT request_key FROM notification_requests WHERE created_at < now() - make_interval(secs => $1) LIMIT $2)`,
      [retentionSeconds, batchSize],
    )) as [unknown, number];
    return count;
  }
}
