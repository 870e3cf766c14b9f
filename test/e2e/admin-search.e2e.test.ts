import { adminUserSearchQuery } from '../../src/modules/users/users-admin.queries.js';
import { registerUser } from '../factories/user.factory.js';
import { bearer, createAdmin, expectProblem } from '../utils/admin.js';
import { bootTestApp, query, type TestApp } from '../utils/test-app.js';

const B64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

interface Listed {
  id: string;
  email: string;
  name: string;
  role: string;
  status: string;
  createdAt: string;
}

/** Inserts `count` users in one statement; three at a time share a created_at, so only the id orders them. */
async function insertUsers(databaseUrl: string, count: number, tag: string): Promise<void> {
  await query(
    databaseUrl,
    `INSERT INTO users (email, password_hash, name, status, role, created_at)
     SELECT $2 || '-' || g || '@bulk.example', 'x', 'Bulk ' || $2 || ' Person',
            CASE WHEN g % 10 = 0 THEN 'blocked' WHEN g % 10 = 1 THEN 'suspended' ELSE 'active' END,
            CASE WHEN g % 7 = 0 THEN 'admin' ELSE 'user' END,
            timestamptz '2026-01-01T00:00:00Z' + (g / 3) * interval '1 second'
       FROM generate_series(1, $1) g`,
    [count, tag],
  );
}

describe('Admin: GET /admin/users search and keyset paging (e2e)', () => {
  let t: TestApp;
  let token: string;
  beforeAll(async () => {
    t = await bootTestApp();
    token = (await createAdmin(t)).accessToken;
    await insertUsers(t.databaseUrl, 300, 'page');
  });
  afterAll(() => t.close());

  const list = (params: Record<string, string | number> = {}) => t.http().get('/api/v1/admin/users').query(params).set(bearer(token));

  /** Every page of a search, following nextCursor; `between` runs after each page. */
  async function walk(params: Record<string, string | number>, between?: () => Promise<void>): Promise<{ rows: Listed[]; pages: number }> {
    const rows: Listed[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const page: Record<string, string | number> = cursor ? { ...params, cursor } : params;
      const response = await list(page).expect(200);
      expect(response.body.meta.limit).toBe(params.limit ?? 20);
      expect(response.body.data.length).toBeLessThanOrEqual(response.body.meta.limit);
      rows.push(...response.body.data);
      cursor = response.body.meta.nextCursor as string | null;
      pages += 1;
      if (cursor) expect(response.body.data).toHaveLength(response.body.meta.limit);
      if (between) await between();
    } while (cursor);
    return { rows, pages };
  }

  const idsInOrder = async (where = '', values: unknown[] = []) =>
    (await query<{ id: string }>(t.databaseUrl, `SELECT id FROM users ${where} ORDER BY created_at DESC, id DESC`, values)).map((r) => r.id);

  it('pages through every user exactly once, newest first, ties broken by id, with limit 7', async () => {
    const expected = await idsInOrder();
    expect(expected.length).toBeGreaterThan(300);
    const { rows, pages } = await walk({ limit: 7 });
    expect(rows.map((r) => r.id)).toEqual(expected);
    expect(pages).toBe(Math.ceil(expected.length / 7));
    // The bulk rows really do share created_at three at a time.
    const [{ n }] = await query<{ n: number }>(t.databaseUrl, 'SELECT count(*)::int AS n FROM (SELECT created_at FROM users GROUP BY 1 HAVING count(*) > 1) x');
    expect(n).toBeGreaterThan(90);
    expect(rows[0]).toEqual({
      id: expect.any(String),
      email: expect.any(String),
      name: expect.any(String),
      mobile: null,
      role: expect.any(String),
      status: expect.any(String),
      statusReason: null,
      statusUntil: null,
      emailVerified: expect.any(Boolean),
      createdAt: expect.any(String),
      updatedAt: expect.any(String),
    });
  });

  it('has a null nextCursor on the last page, also when the last page is full', async () => {
    const first = await list({ limit: 100 }).expect(200);
    expect(first.body.meta.nextCursor).toEqual(expect.any(String));
    // A list exactly one page long has no next page.
    const blocked = (await idsInOrder("WHERE status = 'blocked'")).length;
    const full = await list({ limit: blocked, status: 'blocked' }).expect(200);
    expect(full.body.data).toHaveLength(blocked);
    expect(full.body.meta.nextCursor).toBeNull();
    const shorter = await list({ limit: blocked + 1, status: 'blocked' }).expect(200);
    expect([shorter.body.data.length, shorter.body.meta.nextCursor]).toEqual([blocked, null]);
  });

  it('paging while rows are inserted between pages repeats none and misses none of the rows there at the start', async () => {
    const atStart = await idsInOrder();
    let round = 0;
    const { rows } = await walk({ limit: 50 }, async () => {
      round += 1;
      // Newer than everything, and older than everything (these may show up on later pages; that is fine).
      await query(
        t.databaseUrl,
        `INSERT INTO users (email, password_hash, name, created_at)
         SELECT 'during-' || $1 || '-' || g || '@bulk.example', 'x', 'During', CASE WHEN g % 2 = 0 THEN now() ELSE timestamptz '2020-01-01' END
           FROM generate_series(1, 4) g`,
        [round],
      );
    });
    const ids = rows.map((r) => r.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids.filter((id) => atStart.includes(id))).toEqual(atStart);
    const keys = rows.map((r) => [r.createdAt, r.id].join('|'));
    for (let i = 1; i < rows.length; i += 1) {
      const [a, b] = [rows[i - 1], rows[i]];
      expect(a.createdAt > b.createdAt || (a.createdAt === b.createdAt && a.id > b.id)).toBe(true);
    }
    expect(keys.length).toBeGreaterThan(atStart.length);
  });

  it('filters by status, role, and both, each the same set as the table says', async () => {
    for (const [params, where, values] of [
      [{ status: 'blocked' }, 'WHERE status = $1', ['blocked']],
      [{ status: 'suspended' }, 'WHERE status = $1', ['suspended']],
      [{ status: 'deactivated' }, 'WHERE status = $1', ['deactivated']],
      [{ role: 'admin' }, 'WHERE role = $1', ['admin']],
      [{ role: 'admin', status: 'active' }, 'WHERE role = $1 AND status = $2', ['admin', 'active']],
      [{ role: 'user', status: 'blocked' }, 'WHERE role = $1 AND status = $2', ['user', 'blocked']],
    ] as [Record<string, string>, string, string[]][]) {
      const { rows } = await walk({ ...params, limit: 30 });
      expect(rows.map((r) => r.id)).toEqual(await idsInOrder(where, values));
      for (const row of rows) expect(row).toMatchObject(params);
    }
    expect((await walk({ role: 'admin', status: 'blocked', limit: 100 })).rows.length).toBeGreaterThan(0);
  });

  describe('q', () => {
    const people: Record<string, { id: string }> = {};
    beforeAll(async () => {
      const rows = await query<{ id: string; email: string }>(
        t.databaseUrl,
        `INSERT INTO users (email, password_hash, name, status) VALUES
           ('countess@engine.example', 'x', 'Ada Lovelace', 'active'),
           ('ada.fan@engine.example', 'x', 'Charles Babbage', 'blocked'),
           ('lovisa@else.example', 'x', 'Lovisa Adams', 'active'),
           ('pk@else.example', 'x', 'Pravada Kovlov', 'active'),
           ('xada@else.example', 'x', 'Infix Only', 'active'),
           ('under_score@wild.example', 'x', 'Wild One', 'active'),
           ('underxscore@wild.example', 'x', 'Wild Two', 'active'),
           ('pct%sign@wild.example', 'x', 'Wild Three', 'active'),
           ('pctxsign@wild.example', 'x', 'Wild Four', 'active')
         RETURNING id, email`,
      );
      for (const row of rows) people[row.email.split('@')[0]!] = row;
    });
    const found = async (q: string, extra: Record<string, string> = {}) =>
      (await walk({ q, ...extra, limit: 100 })).rows.map((r) => r.email.split('@')[0]).sort();

    it('matches a case-insensitive prefix of the email or of any word of the name', async () => {
      expect(await found('ada')).toEqual(['ada.fan', 'countess', 'lovisa']);
      expect(await found('ADA')).toEqual(['ada.fan', 'countess', 'lovisa']);
      expect(await found('lov')).toEqual(['countess', 'lovisa']);
      expect(await found('ada lov')).toEqual(['countess', 'lovisa']);
      expect(await found('  Ada   LOV ')).toEqual(['countess', 'lovisa']);
      expect(await found('lovelace')).toEqual(['countess']);
      expect(await found('COUNTESS@ENG')).toEqual(['countess']);
      expect(await found('ada', { status: 'blocked' })).toEqual(['ada.fan']);
    });

    it('does not match infixes', async () => {
      expect(await found('velace')).toEqual([]);
      expect(await found('vada')).toEqual([]);
      expect(await found('engine.example')).toEqual([]);
      expect(await found('ountess')).toEqual([]);
    });

    it('takes LIKE wildcards literally', async () => {
      expect(await found('under_s')).toEqual(['under_score']);
      expect(await found('pct%s')).toEqual(['pct%sign']);
      expect(await found('%')).toEqual([]);
      expect(await found('_')).toEqual([]);
      expect(await found('\\')).toEqual([]);
      expect(await found("o'brien")).toEqual([]);
    });
  });

  describe('q, at scale and over time', () => {
    it('pages through many matches with each user exactly once, also combined with a filter', async () => {
      const bulk = await query<{ id: string; email: string; status: string }>(t.databaseUrl, "SELECT id, email, status FROM users WHERE email LIKE 'page-%'");
      expect(bulk).toHaveLength(300);
      // 'page' is both a word of each name and the start of each email: still one row per user.
      for (const q of ['page', 'PAGE', 'bulk page', 'page person']) {
        const { rows } = await walk({ q, limit: 7 });
        expect(rows.map((r) => r.id).sort()).toEqual(bulk.map((u) => u.id).sort());
      }
      const { rows: tens } = await walk({ q: 'page-1', limit: 7 });
      expect(tens.map((r) => r.email).sort()).toEqual(bulk.filter((u) => u.email.startsWith('page-1')).map((u) => u.email).sort());
      expect(tens).toHaveLength(111);
      const { rows: blocked } = await walk({ q: 'page', status: 'blocked', limit: 4 });
      expect(blocked.map((r) => r.id).sort()).toEqual(bulk.filter((u) => u.status === 'blocked').map((u) => u.id).sort());
      // A cursor of one q does not page another.
      const cursor = (await list({ q: 'page', limit: 7 }).expect(200)).body.meta.nextCursor as string;
      expectProblem(await list({ q: 'pag', limit: 7, cursor }), 400, 'VALIDATION_FAILED', ['cursor']);
      await list({ q: ' page ', limit: 7, cursor }).expect(200);
    });

    it('follows renames and deletions, and lower-cases letters beyond ASCII', async () => {
      const [row] = await query<{ id: string }>(t.databaseUrl, "INSERT INTO users (email, password_hash, name) VALUES ('renamed@x.example', 'x', 'Élodie Zoë-Ångström') RETURNING id");
      const emails = async (q: string) => (await walk({ q, limit: 100 })).rows.map((r) => r.email);
      expect(await emails('élo')).toEqual(['renamed@x.example']);
      expect(await emails('ÉLODIE ÅNG')).toEqual(['renamed@x.example']);
      expect(await emails('zoë')).toEqual(['renamed@x.example']);
      await query(t.databaseUrl, "UPDATE users SET name = 'Quentin Blake', email = 'moved@x.example' WHERE id = $1", [row.id]);
      expect(await emails('élo')).toEqual([]);
      expect(await emails('renamed')).toEqual([]);
      expect(await emails('quen')).toEqual(['moved@x.example']);
      expect(await emails('moved@')).toEqual(['moved@x.example']);
      // A change that does not touch email or name leaves the terms as they are.
      await query(t.databaseUrl, "UPDATE users SET status = 'blocked' WHERE id = $1", [row.id]);
      expect(await emails('blake')).toEqual(['moved@x.example']);
      await query(t.databaseUrl, 'DELETE FROM users WHERE id = $1', [row.id]);
      expect(await emails('quen')).toEqual([]);
      expect(await query(t.databaseUrl, 'SELECT 1 FROM user_search_terms WHERE user_id = $1', [row.id])).toEqual([]);
    });

    it('a user renamed through the API is found by the new name only', async () => {
      const user = await registerUser(t.http, { name: 'Horatio Nelson' });
      expect((await walk({ q: 'horat', limit: 100 })).rows.map((r) => r.id)).toEqual([user.id]);
      await t.http().patch('/api/v1/users/me').set(bearer(user.accessToken)).send({ name: 'Arthur Wellesley' }).expect(200);
      expect((await walk({ q: 'horat', limit: 100 })).rows).toEqual([]);
      expect((await walk({ q: 'welles', limit: 100 })).rows.map((r) => r.id)).toEqual([user.id]);
    });
  });

  describe('cursors and bad queries', () => {
    it('a cursor is only good with the filters it came with, and not edited', async () => {
      const cursor = (await list({ status: 'active', limit: 5 }).expect(200)).body.meta.nextCursor as string;
      await list({ status: 'active', limit: 5, cursor }).expect(200);
      // The limit is not part of a search: another page size may follow the same cursor.
      await list({ status: 'active', limit: 9, cursor }).expect(200);
      const [payload, mac] = cursor.split('.') as [string, string];
      const flip = (s: string, i: number) => s.slice(0, i) + (s[i] === 'A' ? 'B' : 'A') + s.slice(i + 1);
      for (const [params, bad] of [
        [{ status: 'blocked' }, cursor],
        [{}, cursor],
        [{ status: 'active', role: 'user' }, cursor],
        [{ status: 'active', q: 'bulk' }, cursor],
        [{ status: 'active' }, `${flip(payload, 0)}.${mac}`],
        [{ status: 'active' }, `${flip(payload, 10)}.${mac}`],
        [{ status: 'active' }, `${payload}.${flip(mac, 0)}`],
        [{ status: 'active' }, `${payload}.${flip(mac, 8)}`],
        // The MAC's last character carries unused bits: one that decodes to the same bytes is still an edit.
        [{ status: 'active' }, `${payload}.${mac.slice(0, -1)}${B64URL[B64URL.indexOf(mac.at(-1)!) ^ 1]}`],
        [{ status: 'active' }, `${payload}.${mac}.x`],
        [{ status: 'active' }, payload],
        [{ status: 'active' }, 'not-a-cursor'],
      ] as [Record<string, string>, string][]) {
        expectProblem(await list({ ...params, cursor: bad }), 400, 'VALIDATION_FAILED', ['cursor']);
      }
      // Nor is one list's cursor good for another.
      const audit = await t.http().get('/api/v1/admin/audit-log').query({ cursor }).set(bearer(token));
      expectProblem(audit, 400, 'VALIDATION_FAILED', ['cursor']);
    });

    it.each([
      [{ limit: 0 }, ['limit']],
      [{ limit: 101 }, ['limit']],
      [{ limit: 'abc' }, ['limit']],
      [{ limit: '1.5' }, ['limit']],
      [{ limit: -1 }, ['limit']],
      [{ status: 'banned' }, ['status']],
      [{ role: 'root' }, ['role']],
      [{ q: '' }, ['q']],
      [{ q: '   ' }, ['q']],
      [{ q: 'x'.repeat(101) }, ['q']],
      [{ sort: 'email' }, ['sort']],
      [{ offset: 10 }, ['offset']],
    ] as [Record<string, string | number>, string[]][])('400 VALIDATION_FAILED for %j', async (params, fields) => {
      expectProblem(await list(params), 400, 'VALIDATION_FAILED', fields);
    });

    it('limit defaults to 20 and accepts 1 and 100', async () => {
      expect((await list().expect(200)).body.data).toHaveLength(20);
      expect((await list({ limit: 1 }).expect(200)).body.meta).toEqual({ limit: 1, nextCursor: expect.any(String) });
      expect((await list({ limit: 100 }).expect(200)).body.data).toHaveLength(100);
    });
  });

  it('EXPLAIN: the first page, the status filter, the role filter and q use indexes, never a sequential scan of users', async () => {
    await insertUsers(t.databaseUrl, 5_000, 'plan');
    await query(t.databaseUrl, 'ANALYZE users');
    const plans: Record<string, unknown>[] = [];
    for (const filter of [
      {},
      { status: 'blocked' },
      { status: 'suspended' },
      { role: 'admin' },
      { q: 'ada' },
      { q: 'ada lov' },
      { q: 'countess@' },
      { q: 'ada', status: 'active' },
    ] as Parameters<typeof adminUserSearchQuery>[0][]) {
      const { text, values } = adminUserSearchQuery(filter, undefined, 20);
      const [row] = await query<{ 'QUERY PLAN': Record<string, unknown>[] }>(t.databaseUrl, `EXPLAIN (FORMAT JSON) ${text}`, values);
      plans.push({ filter, plan: row['QUERY PLAN'] });
    }
    const seqScans = (node: unknown): string[] => {
      if (!node || typeof node !== 'object') return [];
      const here = (node as Record<string, unknown>)['Node Type'] === 'Seq Scan' ? [String((node as Record<string, unknown>)['Relation Name'])] : [];
      return [...here, ...Object.values(node).flatMap(seqScans)];
    };
    for (const { filter, plan } of plans) expect({ filter, seqScans: seqScans(plan) }).toEqual({ filter, seqScans: [] });
    // The check can see one: an infix search has no index to use.
    const [control] = await query<{ 'QUERY PLAN': unknown }>(t.databaseUrl, "EXPLAIN (FORMAT JSON) SELECT id FROM users WHERE name LIKE '%ada%' ORDER BY created_at DESC LIMIT 21");
    expect(seqScans(control['QUERY PLAN'])).toEqual(['users']);
  });
});
