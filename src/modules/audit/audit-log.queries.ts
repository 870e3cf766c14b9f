import type { Keyset } from '../../core/http/cursors.js';
import { NEWEST_FIRST_KEYSET, type Sql } from '../users/users-admin.queries.js';

export interface AuditLogFilter {
  actorId?: string;
  targetId?: string;
  action?: string;
}

/** Newest first, one row beyond the page; each filter is served by its (column, created_at, id) index. */
export function auditLogQuery(filter: AuditLogFilter, after: Keyset | undefined, limit: number): Sql {
  const values: unknown[] = [];
  const where: string[] = [];
  const param = (value: unknown) => `$${values.push(value)}`;
  if (filter.actorId) where.push(`actor_id = ${param(filter.actorId)}`);
  if (filter.targetId) where.push(`target_id = ${param(filter.targetId)}`);
  if (filter.action) where.push(`action = ${param(filter.action)}`);
  if (after) where.push(`(created_at, id) < (${param(after[0])}::timestamptz, ${param(after[1])}::uuid)`);
  const text = `SELECT *, ${NEWEST_FIRST_KEYSET}
  FROM audit_entries${where.length ? `\n WHERE ${where.join('\n   AND ')}` : ''}
 ORDER BY created_at DESC, id DESC
 LIMIT ${param(limit + 1)}`;
  return { text, values };
}
