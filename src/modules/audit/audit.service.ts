import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, type EntityManager } from 'typeorm';

export interface AuditEntry {
  actorId: string | null;
  action: string;
  targetId: string | null;
  reason?: string | null;
  ip?: string | null;
  details?: Record<string, unknown> | null;
}

export interface AuditRecord extends Required<AuditEntry> {
  id: string;
  createdAt: string;
}

/** Who did what to whom, written in the same transaction as the change. */
@Injectable()
export class AuditService {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  async record(manager: EntityManager, entry: AuditEntry): Promise<void> {
    await manager.query(
      'INSERT INTO audit_entries (actor_id, action, target_id, reason, ip, details) VALUES ($1, $2, $3, $4, $5, $6)',
      [entry.actorId, entry.action, entry.targetId, entry.reason ?? null, entry.ip ?? null, entry.details ?? null],
    );
  }

  /** Entries about a user (as the target), oldest first: for the user's export. */
  async listAbout(userId: string): Promise<AuditRecord[]> {
    const rows = (await this.dataSource.query(
      'SELECT * FROM audit_entries WHERE target_id = $1 ORDER BY created_at, id',
      [userId],
    )) as Record<string, unknown>[];
    return rows.map((row) => ({
      id: row.id as string,
      actorId: row.actor_id as string | null,
      action: row.action as string,
      targetId: row.target_id as string | null,
      reason: row.reason as string | null,
      ip: row.ip as string | null,
      details: row.details as Record<string, unknown> | null,
      createdAt: (row.created_at as Date).toISOString(),
    }));
  }
}
