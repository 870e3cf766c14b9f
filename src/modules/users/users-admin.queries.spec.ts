import { randomUUID } from 'node:crypto';

import type { Keyset } from '../../core/http/cursors.js';
import {
  ADMIN_STATS_QUERY,
  adminUserSearchQuery,
  BY_TERM,
  keysetShapeOf,
  NEWEST_FIRST,
  NEWEST_FIRST_KEYSET,
  searchWords,
  type Sql,
} from './users-admin.queries.js';

const newestAfter: Keyset = ['2026-11-22T09:00:00.123456Z', randomUUID()];
const termAfter: Keyset = ['ada@example.com', randomUUID()];

/** The placeholders of the text, in order of appearance. */
const placeholders = (text: string) => [...text.matchAll(/\$(\d+)/g)].map((match) => Number(match[1]));

/**
 * Every value is bound by a placeholder $1..$n (each used, none beyond), and
 * none of the caller's strings (q, keyset parts) made it into the SQL text.
 */
function expectOnlyParameters({ text, values }: Sql, ...untrusted: string[]): void {
  expect([...new Set(placeholders(text))].sort((a, b) => a - b)).toEqual(values.map((_, i) => i + 1));
  for (const value of untrusted) expect(text).not.toContain(value);
}

/** The values bound to the placeholders that follow `prefix` in the text, in order. */
function boundAfter({ text, values }: Sql, prefix: string): unknown[] {
  const escaped = prefix.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  // A LIKE pattern is lower-cased by the database, as the terms are: `LIKE lower($n)`.
  return [...text.matchAll(new RegExp(`${escaped}\\s*(?:lower\\()?\\$(\\d+)`, 'g'))].map((match) => values[Number(match[1]) - 1]);
}

describe('searchWords', () => {
  it('splits q into its words', () => {
    expect(searchWords('ada')).toEqual(['ada']);
    expect(searchWords('ada lov')).toEqual(['ada', 'lov']);
    expect(searchWords('  ada   lov  ')).toEqual(['ada', 'lov']);
  });

  it('drops punctuation, splitting where it was', () => {
    expect(searchWords("o'brien-smith")).toEqual(['o', 'brien', 'smith']);
    expect(searchWords('ada_l. (king), zoë')).toEqual(['ada', 'l', 'king', 'zoë']);
    // Only whitespace and ASCII punctuation separate: the database splits names at exactly those.
    expect(searchWords('«zoë»')).toEqual(['«zoë»']);
    expect(searchWords('r2d2 3po')).toEqual(['r2d2', '3po']);
    expect(searchWords("-- ' % _ \\ .")).toEqual([]);
    expect(searchWords('')).toEqual([]);
  });

  it('keeps letters of every script', () => {
    expect(searchWords('josé núñez')).toEqual(['josé', 'núñez']);
    expect(searchWords('nguyễn thị')).toEqual(['nguyễn', 'thị']);
    expect(searchWords('ольга')).toEqual(['ольга']);
  });

  // Known to fail (see the report). The split class [^\p{L}\p{N}] treats combining marks
  // (\p{M}) as separators; user_search_terms_of() splits with [^[:alnum:]] and, in a UTF-8
  // database (checked on PostgreSQL 18, C.UTF-8), keeps them: the terms of 'محمّد علي' are
  // 'محمّد' and 'علي', of 'निखिल शर्मा' 'निखिल', 'शर' and 'मा'. A query of several words then
  // requires name words starting with 'د' (or 'ख', 'ल'), which nobody has: q='محمّد علي' and
  // q='निखिल शर्मा' find no one, although the users exist (a single word still matches,
  // through the whole-q prefix).
  it('keeps combining marks inside a word, as user_search_terms_of() does (Arabic, Devanagari)', () => {
    expect(searchWords('محمّد علي')).toEqual(['محمّد', 'علي']);
    expect(searchWords('निखिल शर्मा')[0]).toBe('निखिल');
  });
});

describe('keysetShapeOf', () => {
  it('pages a search by (term, id) and anything else newest first', () => {
    expect(keysetShapeOf({ q: 'ada' })).toBe(BY_TERM);
    expect(keysetShapeOf({ status: 'active', role: 'admin' })).toBe(NEWEST_FIRST);
    expect(keysetShapeOf({})).toBe(NEWEST_FIRST);
    expect(BY_TERM).toEqual(['text', 'uuid']);
    expect(NEWEST_FIRST).toEqual(['timestamp', 'uuid']);
  });
});

describe('adminUserSearchQuery without q (newest first)', () => {
  it('without filters: every user, newest first, one row beyond the page', () => {
    const sql = adminUserSearchQuery({}, undefined, 20);

    expect(sql.text).not.toMatch(/\bWHERE\b/);
    expect(sql.text).toMatch(/ORDER BY created_at DESC, id DESC\s+LIMIT \$1$/);
    expect(sql.values).toEqual([21]);
    expect(sql.text).toContain(NEWEST_FIRST_KEYSET);
    expect(sql.text).not.toContain('password_hash');
    expectOnlyParameters(sql);
  });

  it('binds status and role as parameters', () => {
    const sql = adminUserSearchQuery({ status: 'suspended', role: 'admin' }, undefined, 5);

    expect(boundAfter(sql, 'status =')).toEqual(['suspended']);
    expect(boundAfter(sql, 'role =')).toEqual(['admin']);
    expect(sql.values).toEqual(['suspended', 'admin', 6]);
    expectOnlyParameters(sql);
  });

  it('continues strictly after the keyset, bound as a timestamp and a uuid', () => {
    const sql = adminUserSearchQuery({ status: 'active' }, newestAfter, 20);

    expect(sql.text).toMatch(/\(created_at, id\) < \(\$2::timestamptz, \$3::uuid\)/);
    expect(sql.text).toMatch(/LIMIT \$4$/);
    expect(sql.values).toEqual(['active', newestAfter[0], newestAfter[1], 21]);
    expectOnlyParameters(sql, ...newestAfter);
  });
});

describe('adminUserSearchQuery with q (by matching term)', () => {
  it('one word: users with a term (email or name word) starting with it, each once, in term order', () => {
    const sql = adminUserSearchQuery({ q: 'ada' }, undefined, 20);

    expect(sql.text).toContain('FROM user_search_terms t JOIN users u ON u.id = t.user_id');
    expect(boundAfter(sql, 't.term LIKE')).toEqual(['ada%']);
    // Each user once: at its smallest matching term (the same parameter, not a second copy of q).
    expect(sql.text).toMatch(/NOT EXISTS \(SELECT 1 FROM user_search_terms d WHERE d\.user_id = t\.user_id AND d\.term LIKE lower\(\$1\) AND d\.term < t\.term\)/);
    expect(sql.text).not.toContain('w.term');
    expect(sql.text).toMatch(/ORDER BY t\.term, t\.user_id\s+LIMIT \$2$/);
    expect(sql.values).toEqual(['ada%', 21]);
    expectOnlyParameters(sql);
  });

  it('several words: an email starting with q, or a name with a word starting with each word', () => {
    const sql = adminUserSearchQuery({ q: 'ada lov' }, undefined, 20);

    expect(boundAfter(sql, 't.term LIKE')).toEqual(['ada%']);
    expect(boundAfter(sql, 'w.term LIKE')).toEqual(['ada lov%', 'ada%', 'lov%']);
    // Name words only: an email term cannot stand in for a word of the name.
    expect(sql.text).toContain("bool_or(w.term LIKE lower($2) AND strpos(w.term, '@') = 0) AND bool_or(w.term LIKE lower($3) AND strpos(w.term, '@') = 0)");
    expect(sql.text).toMatch(/FROM user_search_terms w WHERE w\.user_id = t\.user_id\)/);
    expectOnlyParameters(sql, 'ada lov');
  });

  it('a q with @ is an email prefix, searched as a whole', () => {
    const sql = adminUserSearchQuery({ q: 'ada.l@exa' }, undefined, 20);

    expect(boundAfter(sql, 't.term LIKE')).toEqual(['ada.l@exa%']);
    expect(sql.text).not.toContain('w.term');
    expect(sql.values).toEqual(['ada.l@exa%', 21]);
    expectOnlyParameters(sql, 'ada.l@exa');
  });

  it('a q with punctuation but no @ may still be the start of an email', () => {
    const sql = adminUserSearchQuery({ q: 'ada.lov' }, undefined, 20);

    expect(boundAfter(sql, 't.term LIKE')).toEqual(['ada%']);
    expect(boundAfter(sql, 'w.term LIKE')).toEqual(['ada.lov%', 'ada%', 'lov%']);
  });

  it("never puts q into the SQL text: quotes, LIKE's % and _ and the backslash end up escaped in parameters", () => {
    const q = "o'brien_50%\\x";
    const sql = adminUserSearchQuery({ q }, undefined, 20);

    expect(boundAfter(sql, 't.term LIKE')).toEqual(['o%']);
    expect(boundAfter(sql, 'w.term LIKE')).toEqual(["o'brien\\_50\\%\\\\x%", 'o%', 'brien%', '50%', 'x%']);
    expectOnlyParameters(sql, q, 'brien', "o'", '50');
  });

  it('escapes the wildcards of an email prefix, too', () => {
    const sql = adminUserSearchQuery({ q: 'a_b%c\\d@' }, undefined, 20);

    expect(sql.values).toEqual(['a\\_b\\%c\\\\d@%', 21]);
    expectOnlyParameters(sql, 'a_b%c');
  });

  /** A harmless q that takes the same branch of the query as q (same number of words, punctuation, @). */
  const sameShapeAs = (q: string) => {
    const words = searchWords(q);
    if (q.includes('@')) return 'x@';
    if (words.length === 0) return '-';
    const plain = words.map(() => 'x').join(' ');
    return words.length === 1 && words[0] !== q ? `${plain}.` : plain;
  };

  it.each([["'; DROP TABLE users; --"], ['%'], ['_'], ['\\'], ['$1'], ['ada$2 lov'], ["x' OR '1'='1"], ["'@'--"]])(
    'keeps %j out of the SQL text: the text is that of any q of the same shape',
    (q) => {
      const sql = adminUserSearchQuery({ q, status: 'active', role: 'user' }, termAfter, 10);
      const harmless = adminUserSearchQuery({ q: sameShapeAs(q), status: 'active', role: 'user' }, termAfter, 10);

      expect(sql.text).toBe(harmless.text);
      expect(sql.values).toHaveLength(harmless.values.length);
      expectOnlyParameters(sql, ...termAfter);
    },
  );

  it('binds status, role and the (term, id) keyset, and asks for limit + 1 rows last', () => {
    const sql = adminUserSearchQuery({ q: 'ada', status: 'blocked', role: 'admin' }, termAfter, 100);

    expect(boundAfter(sql, 'u.status =')).toEqual(['blocked']);
    expect(boundAfter(sql, 'u.role =')).toEqual(['admin']);
    expect(sql.text).toMatch(/\(t\.term, t\.user_id\) > \(\$4, \$5::uuid\)/);
    expect(sql.text).toMatch(/LIMIT \$6$/);
    expect(sql.values).toEqual(['ada%', 'blocked', 'admin', termAfter[0], termAfter[1], 101]);
    expectOnlyParameters(sql, ...termAfter);
  });

  it('selects the keyset of each row and never the password hash', () => {
    const sql = adminUserSearchQuery({ q: 'ada' }, undefined, 20);

    expect(sql.text).toContain('ARRAY[t.term::text, t.user_id::text] AS keyset');
    expect(sql.text).not.toContain('password_hash');
  });
});

describe('ADMIN_STATS_QUERY', () => {
  it('takes no parameters and reads the exact counts from user_counts', () => {
    expect(ADMIN_STATS_QUERY.values).toEqual([]);
    expect(placeholders(ADMIN_STATS_QUERY.text)).toEqual([]);
    expect(ADMIN_STATS_QUERY.text).toContain('FROM user_counts');
  });
});
