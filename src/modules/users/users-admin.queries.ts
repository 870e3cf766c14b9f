import type { Keyset } from '../../core/http/cursors.js';
import type { UserRole, UserStatus } from './user.entity.js';

/**
 * The SQL of the admin-only user queries, as pure functions: the repository
 * runs them, and the benchmark EXPLAINs exactly the same text.
 */

export interface AdminUserFilter {
  status?: UserStatus;
  role?: UserRole;
  /** Lower-cased, trimmed: a prefix of the email or of any word of the name. */
  q?: string;
}

export interface Sql {
  text: string;
  values: unknown[];
}

const likePrefix = (prefix: string) => `${prefix.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;

/**
 * Every word of q as a prefix query on the name's words ('ada lov' finds Ada
 * Lovelace), split where PostgreSQL's simple parser splits; undefined when q
 * has no word characters or is an email fragment.
 */
export function namePrefixQuery(q: string): string | undefined {
  if (q.includes('@')) return undefined;
  const words = q.split(/[^\p{L}\p{N}]+/u).filter(Boolean);
  if (words.length === 0) return undefined;
  return words.map((word) => `'${word}':*`).join(' & ');
}

/** The keyset column for the next cursor, exact to the microsecond. */
export const KEYSET_CREATED_AT = `to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS keyset_created_at`;

/** Newest first; one row more than the page, to know whether another page follows. */
export function adminUserSearchQuery(filter: AdminUserFilter, after: Keyset | undefined, limit: number): Sql {
  const values: unknown[] = [];
  const where: string[] = [];
  const param = (value: unknown) => `$${values.push(value)}`;
  if (filter.status) where.push(`status = ${param(filter.status)}`);
  if (filter.role) where.push(`role = ${param(filter.role)}`);
  if (filter.q) {
    const email = `email LIKE ${param(likePrefix(filter.q))}`;
    const words = namePrefixQuery(filter.q);
    where.push(words ? `(${email} OR to_tsvector('simple', name) @@ ${param(words)}::tsquery)` : email);
  }
  if (after) where.push(`(created_at, id) < (${param(after.createdAt)}::timestamptz, ${param(after.id)}::uuid)`);
  const text = `SELECT id, email, name, mobile, role, status, status_reason, status_until, email_verified, created_at, updated_at,
       ${KEYSET_CREATED_AT}
  FROM users${where.length ? `\n WHERE ${where.join('\n   AND ')}` : ''}
 ORDER BY created_at DESC, id DESC
 LIMIT ${param(limit + 1)}`;
  return { text, values };
}

/** One round trip: the exact counts (kept by triggers) and the recent sign-ups (an index range). */
export const ADMIN_STATS_QUERY: Sql = {
  text: `SELECT
  (SELECT coalesce(json_agg(json_build_object('status', status, 'role', role, 'verified', email_verified, 'count', count)), '[]')
     FROM user_counts) AS counts,
  (SELECT count(*) FROM users WHERE created_at > now() - interval '1 day') AS last_24h,
  (SELECT count(*) FROM users WHERE created_at > now() - interval '7 days') AS last_7d`,
  values: [],
};
