import type { Keyset, KeysetShape } from '../../core/http/cursors.js';
import type { UserRole, UserStatus } from './user.entity.js';

/**
 * The SQL of the admin-only user queries, as pure functions: the repository
 * runs them, and the benchmark EXPLAINs exactly the same text.
 */

export interface AdminUserFilter {
  status?: UserStatus;
  role?: UserRole;
  /** Trimmed (lower-cased by the database, as the terms are): a prefix of the email, or of words of the name. */
  q?: string;
}

export interface Sql {
  text: string;
  values: unknown[];
}

/** Newest first, by (created_at, id): the keyset of lists without a search. */
export const NEWEST_FIRST: KeysetShape = ['timestamp', 'uuid'];
/** Search results, by (matching term, user id). */
export const BY_TERM: KeysetShape = ['text', 'uuid'];

export const keysetShapeOf = (filter: AdminUserFilter): KeysetShape => (filter.q ? BY_TERM : NEWEST_FIRST);

/**
 * Whitespace and ASCII punctuation: where user_search_terms_of() (migration
 * AddAdministration) splits names. Every other character, letters and marks
 * of any script, belongs to a word on both sides, whatever the locale.
 */
const TERM_SEPARATORS = /[ \t\r\n!-/:-@[-`{-~]+/u;

/** The words of q, split as names are split into search terms. */
export function searchWords(q: string): string[] {
  return q.split(TERM_SEPARATORS).filter(Boolean);
}

const likePrefix = (prefix: string) => `${prefix.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;

/** The keyset column for the next cursor of a newest-first list, exact to the microsecond. */
export const NEWEST_FIRST_KEYSET = `ARRAY[to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'), id::text] AS keyset`;

const USER_COLUMNS = 'u.id, u.email, u.name, u.mobile, u.role, u.status, u.status_reason, u.status_until, u.email_verified, u.created_at, u.updated_at';

/**
 * One page of users, one row more than the page (to know whether another
 * follows). Without q: newest first, on the (created_at, id) indexes. With q:
 * in the order of the matching term (email or name word), on
 * user_search_terms, so a prefix costs the page it returns, not the number of
 * users it matches.
 */
export function adminUserSearchQuery(filter: AdminUserFilter, after: Keyset | undefined, limit: number): Sql {
  return filter.q ? termSearch(filter, filter.q, after, limit) : newestFirst(filter, after, limit);
}

function newestFirst(filter: AdminUserFilter, after: Keyset | undefined, limit: number): Sql {
  const values: unknown[] = [];
  const param = (value: unknown) => `$${values.push(value)}`;
  const where: string[] = [];
  if (filter.status) where.push(`status = ${param(filter.status)}`);
  if (filter.role) where.push(`role = ${param(filter.role)}`);
  if (after) where.push(`(created_at, id) < (${param(after[0])}::timestamptz, ${param(after[1])}::uuid)`);
  const text = `SELECT ${USER_COLUMNS}, ${NEWEST_FIRST_KEYSET}
  FROM users u${where.length ? `\n WHERE ${where.join('\n   AND ')}` : ''}
 ORDER BY created_at DESC, id DESC
 LIMIT ${param(limit + 1)}`;
  return { text, values };
}

/**
 * The scan walks the terms that start with q's first word, in order; each user
 * is returned once, at its smallest such term. A q with '@' is an email
 * prefix; a q of several words matches an email starting with q, or a name
 * with a word starting with each of them ('ada lov' finds Ada Lovelace). A
 * single word costs the page it returns; several words cost in proportion to
 * the users matching the first one (each is checked on the index).
 */
function termSearch(filter: AdminUserFilter, q: string, after: Keyset | undefined, limit: number): Sql {
  const values: unknown[] = [];
  const param = (value: unknown) => `$${values.push(value)}`;
  const words = q.includes('@') ? [] : searchWords(q);
  const lead = words.length > 0 ? words[0]! : q;
  const leadPrefix = `lower(${param(likePrefix(lead))})`;
  const where = [
    `t.term LIKE ${leadPrefix}`,
    `NOT EXISTS (SELECT 1 FROM user_search_terms d WHERE d.user_id = t.user_id AND d.term LIKE ${leadPrefix} AND d.term < t.term)`,
  ];
  if (words.length > 1 || (words.length === 1 && words[0] !== q)) {
    // One probe of the user's few terms per candidate (an aggregate, so the planner cannot
    // turn it into a hash of every term in range); users are joined only for the rows returned.
    const nameWords = words.map((word) => `bool_or(w.term LIKE lower(${param(likePrefix(word))}) AND strpos(w.term, '@') = 0)`);
    where.push(
      `(SELECT bool_or(w.term LIKE lower(${param(likePrefix(q))})) OR (${nameWords.join(' AND ')}) FROM user_search_terms w WHERE w.user_id = t.user_id)`,
    );
  }
  if (filter.status) where.push(`u.status = ${param(filter.status)}`);
  if (filter.role) where.push(`u.role = ${param(filter.role)}`);
  if (after) where.push(`(t.term, t.user_id) > (${param(after[0])}, ${param(after[1])}::uuid)`);
  const text = `SELECT ${USER_COLUMNS}, ARRAY[t.term::text, t.user_id::text] AS keyset
  FROM user_search_terms t JOIN users u ON u.id = t.user_id
 WHERE ${where.join('\n   AND ')}
 ORDER BY t.term, t.user_id
 LIMIT ${param(limit + 1)}`;
  return { text, values };
}

/** One round trip: the exact counts (kept by triggers, summed over their shards) and the recent sign-ups (an index range). */
export const ADMIN_STATS_QUERY: Sql = {
  text: `SELECT
  (SELECT coalesce(json_agg(json_build_object('status', status, 'role', role, 'verified', email_verified, 'count', count)), '[]')
     FROM (SELECT status, role, email_verified, sum(count) AS count FROM user_counts GROUP BY 1, 2, 3) shards_summed) AS counts,
  (SELECT count(*) FROM users WHERE created_at > now() - interval '1 day') AS last_24h,
  (SELECT count(*) FROM users WHERE created_at > now() - interval '7 days') AS last_7d`,
  values: [],
};
