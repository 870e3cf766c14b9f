import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, type EntityManager } from 'typeorm';

import { type Keyset, pageOf } from '../../core/http/cursors.js';
import { RequestContext } from '../../core/logging/request-context.js';
import { type AuditLogFilter, auditLogQuery } from './audit-log.queries.js';

/** Who made a change: a signed-in user (an admin) from a client, the operators' CLI, or the service itself. */
export type AuditActor =
  | { type: 'user'; id: string; ip: string | null; userAgent: string | null }
  | { type: 'cli' }
  | { type: 'system' };

export const CLI_ACTOR: AuditActor = { type: 'cli' };
export const SYSTEM_ACTOR: AuditActor = { type: 'system' };

export const AUDIT_ACTIONS = [
  'user.created',
  'user.status_changed',
  'user.role_changed',
  'user.sessions_revoked',
  'user.suspension_lifted',
  'api_key.created',
  'api_key.revoked',
] as const;
export type AuditAction = (typeof AUDIT_ACTIONS)[number];

export interface AuditEntry {
  actor: AuditActor;
  action: AuditAction;
  targetId: string;
  reason?: string | null;
  /** The changed fields before and after the change (never a secret). */
  before?: Record<string, unknown> | null;
  after?: Record<string, unknown> | null;
}

export interface AuditRecord {
  id: string;
  actorType: AuditActor['type'];
  actorId: string | null;
  action: string;
  targetId: string | null;
  reason: string | null;
  ip: string | null;
  userAgent: string | null;
  correlationId: string | null;
  before: Record<string, unknown> | null;
  after: Record<string, unknown> | null;
  createdAt: string;
}

function toRecord(row: Record<string, unknown>): AuditRecord {
  return {
    id: row.id as string,
    actorType: row.actor_type as AuditActor['type'],
    actorId: row.actor_id as string | null,
    action: row.action as string,
    targetId: row.target_id as string | null,
    reason: row.reason as string | null,
    ip: row.ip as string | null,
    userAgent: row.user_agent as string | null,
    correlationId: row.correlation_id as string | null,
    before: row.changes_before as Record<string, unknown> | null,
    after: row.changes_after as Record<string, unknown> | null,
    createdAt: (row.created_at as Date).toISOString(),
  };
}

/**
 * Who did what to whom, written in the same transaction as the change. The
 * table is append-only (a trigger refuses UPDATE, DELETE and TRUNCATE).
 */
@Injectable()
export class AuditService {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly context: RequestContext,
  ) {}

  async record(manager: EntityManager, entry: AuditEntry): Promise<void> {
    const { actor } = entry;
    const fromClient = actor.type === 'user' ? actor : undefined;
    await manager.query(
      `INSERT INTO audit_entries (actor_type, actor_id, action, target_id, reason, ip, user_agent, correlation_id, changes_before, changes_after)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
      [
        actor.type,
        fromClient?.id ?? null,
        entry.action,
        entry.targetId,
        entry.reason ?? null,
        fromClient?.ip ?? null,
        fromClient?.userAgent ?? null,
        this.context.correlationId() ?? null,
        entry.before ?? null,
        entry.after ?? null,
      ],
    );
  }

  /** A page of the log, newest first, and the keyset of the next page if there is one. */
  async list(filter: AuditLogFilter, after: Keyset | undefined, limit: number): Promise<{ entries: AuditRecord[]; next?: Keyset }> {
    const { text, values } = auditLogQuery(filter, after, limit);
    const { page, next } = pageOf((await this.dataSource.query(text, values)) as Record<string, unknown>[], limit);
    return { entries: page.map(toRecord), next };
  }

  /** Entries about a user (as the target), oldest first: for the user's export. */
  async listAbout(userId: string): Promise<AuditRecord[]> {
    const rows = (await this.dataSource.query('SELECT * FROM audit_entries WHERE target_id = $1 ORDER BY created_at, id', [
      userId,
    ])) as Record<string, unknown>[];
    return rows.map(toRecord);
  }
}
