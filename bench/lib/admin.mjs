// The admin scenarios' side of a run: a database seeded with the seed of
// `npm run seed` (src/cli/seed.ts), the admin's and the seeded users' tokens,
// the cursor walk to page 1,000, and the EXPLAIN plans of the admin queries,
// made from the SQL the service itself runs (the exported query builders).
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

import pg from 'pg';

/** The page size of every admin list request and plan. */
export const ADMIN_PAGE_SIZE = 20;
/** The page the deep-page scenario loads (the walk follows nextCursor this many pages minus one). */
export const DEEP_PAGE = 1_000;
/** A 3-letter prefix of the most common seeded first name (Maria; Marco, Martin, Marie share it). */
export const NAME_PREFIX = 'mar';
/** How an admin starts typing an email: the most common first name and the start of the most common last name. */
export const EMAIL_PREFIX = 'maria.gar';
/**
 * Only plans, not scenarios: an email prefix typed in full (the first word,
 * "maria", is the most common one), and a typo of it that finds nobody.
 */
export const LONG_EMAIL_PREFIX = 'maria.garcia.99';
export const MISS_PREFIX = 'maria.xyz';

/** 1000 → "1k", 1000000 → "1M", 2500 → "2500". */
export function sizeLabel(users) {
  if (users % 1_000_000 === 0) return `${users / 1_000_000}M`;
  if (users % 1_000 === 0) return `${users / 1_000}k`;
  return String(users);
}

/** The service's own modules, from dist/ (built by `npm run bench`); loaded only when an admin phase runs. */
async function serviceModules(root) {
  const load = (path) => import(pathToFileURL(join(root, 'dist', path)).href);
  await import('reflect-metadata');
  const [{ DataSource }, seedModule, options, migrator, hasher, userQueries, auditQueries] = await Promise.all([
    import('typeorm'),
    load('src/cli/seed.js'),
    load('src/core/database/typeorm-options.js'),
    load('src/core/database/migrator.js'),
    load('src/core/auth/password-hasher.js'),
    load('src/modules/users/users-admin.queries.js'),
    load('src/modules/audit/audit-log.queries.js'),
  ]);
  return {
    DataSource,
    seed: seedModule.seed,
    buildDataSourceOptions: options.buildDataSourceOptions,
    runMigrationsLocked: migrator.runMigrationsLocked,
    PasswordHasher: hasher.PasswordHasher,
    adminUserSearchQuery: userQueries.adminUserSearchQuery,
    ADMIN_STATS_QUERY: userQueries.ADMIN_STATS_QUERY,
    auditLogQuery: auditQueries.auditLogQuery,
  };
}

/**
 * Migrates the (empty) database and seeds `users` users with seed(), the
 * password hashed once at the service's cost, as `npm run seed` does.
 */
export async function seedAdminDatabase({ root, databaseUrl, users, password, cost, onProgress }) {
  const m = await serviceModules(root);
  const dataSource = new m.DataSource(m.buildDataSourceOptions(databaseUrl));
  await dataSource.initialize();
  try {
    const migrateStart = Date.now();
    await m.runMigrationsLocked(dataSource);
    const migrateSeconds = (Date.now() - migrateStart) / 1000;
    const passwordHash = await new m.PasswordHasher({ bcryptCost: cost }).hash(password);
    const result = await m.seed(dataSource, { users, passwordHash, onProgress });
    return { ...result, migrateSeconds };
  } finally {
    await dataSource.destroy();
  }
}

async function withClient(databaseUrl, work) {
  const client = new pg.Client({ connectionString: databaseUrl, connectionTimeoutMillis: 5_000, query_timeout: 120_000 });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/** Emails of `count` random seeded users who can sign in (active, role user), the admins left out. */
export function pickSeededUsers(databaseUrl, count) {
  return withClient(databaseUrl, async (client) => {
    const { rows } = await client.query(
      `SELECT email FROM users WHERE status = 'active' AND role = 'user' AND email LIKE '%.%.%@%' ORDER BY random() LIMIT $1`,
      [count],
    );
    return rows.map((row) => row.email);
  });
}

/** Lapsed suspensions the service's sweep has still to lift. */
export function countLapsedSuspensions(databaseUrl) {
  return withClient(databaseUrl, async (client) => {
    const { rows } = await client.query(`SELECT count(*)::int AS n FROM users WHERE status = 'suspended' AND status_until <= now()`);
    return rows[0].n;
  });
}

async function requestJson(url, { method = 'GET', token, body, timeoutMs = 30_000 } = {}) {
  const headers = {};
  if (token) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const response = await fetch(url, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(timeoutMs),
  });
  const text = await response.text();
  let json;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: response.status, json, text };
}

/** POST /auth/login (`api`: the service's URL up to /api/v1); the access token, or an error naming the status and body. */
export async function login(api, email, password) {
  const { status, json, text } = await requestJson(`${api}/auth/login`, { method: 'POST', body: { email, password } });
  if (status !== 200 || typeof json?.accessToken !== 'string') {
    throw new Error(`POST /auth/login as ${email} answered ${status}: ${text.slice(0, 300)}`);
  }
  return json.accessToken;
}

/** A cursor's keyset (['<created_at>', '<id>'] for newest-first lists): the payload before the MAC is base64url of its parts joined by newlines (src/core/http/cursors.ts). */
export function decodeCursor(cursor) {
  const [payload] = cursor.split('.');
  return Buffer.from(payload, 'base64url').toString().split('\n');
}

/**
 * GET /admin/users page by page, following nextCursor, until page `page` (or
 * the last page, when there are fewer). Returns that page's path and the
 * keyset its cursor carries. Checks on the way that the pages are what the
 * contract says (newest first, no row twice, `limit` rows but the last).
 * `api` is the service's URL up to /api/v1; the path returned is after it.
 */
export async function walkToPage(api, token, page, limit = ADMIN_PAGE_SIZE) {
  const first = `/admin/users?limit=${limit}`;
  let path = first;
  let cursor;
  let reached = 1;
  let previousLast;
  const problems = [];
  const started = Date.now();
  for (;;) {
    const { status, json, text } = await requestJson(`${api}${path}`, { token });
    if (status !== 200 || !Array.isArray(json?.data)) throw new Error(`GET ${path} (page ${reached}) answered ${status}: ${text.slice(0, 300)}`);
    const rows = json.data;
    if (json.meta?.limit !== limit) problems.push(`page ${reached}: meta.limit ${json.meta?.limit}, asked for ${limit}`);
    if (json.meta?.nextCursor && rows.length !== limit) problems.push(`page ${reached}: ${rows.length} rows and a nextCursor`);
    for (const row of rows) {
      const key = `${row.createdAt}|${row.id}`;
      if (previousLast && !(key < previousLast)) {
        problems.push(`page ${reached}: ${row.id} (${row.createdAt}) is not older than the row before it`);
        break;
      }
      previousLast = key;
    }
    if (reached === page || !json.meta?.nextCursor) break;
    cursor = json.meta.nextCursor;
    path = `${first}&cursor=${encodeURIComponent(cursor)}`;
    reached += 1;
  }
  return {
    page: reached,
    path,
    keyset: cursor ? decodeCursor(cursor) : undefined,
    seconds: (Date.now() - started) / 1000,
    problems: problems.slice(0, 5),
  };
}

/** The plans the admin routes run, each as { name, sql }. */
function adminPlans(m, { keyset }) {
  return [
    { name: 'list-first-page', sql: m.adminUserSearchQuery({}, undefined, ADMIN_PAGE_SIZE) },
    { name: `list-page-${DEEP_PAGE}`, sql: m.adminUserSearchQuery({}, keyset, ADMIN_PAGE_SIZE), note: keyset ? undefined : 'no deeper page: first page' },
    { name: 'search-name-prefix', sql: m.adminUserSearchQuery({ q: NAME_PREFIX }, undefined, ADMIN_PAGE_SIZE) },
    { name: 'search-email-prefix', sql: m.adminUserSearchQuery({ q: EMAIL_PREFIX }, undefined, ADMIN_PAGE_SIZE) },
    { name: 'search-email-long', sql: m.adminUserSearchQuery({ q: LONG_EMAIL_PREFIX }, undefined, ADMIN_PAGE_SIZE) },
    { name: 'search-miss', sql: m.adminUserSearchQuery({ q: MISS_PREFIX }, undefined, ADMIN_PAGE_SIZE) },
    { name: 'status-suspended', sql: m.adminUserSearchQuery({ status: 'suspended' }, undefined, ADMIN_PAGE_SIZE) },
    { name: 'stats', sql: m.ADMIN_STATS_QUERY },
    { name: 'audit-first-page', sql: m.auditLogQuery({}, undefined, ADMIN_PAGE_SIZE) },
  ];
}

/** A Seq Scan (parallel or not) on users itself; user_counts (a few rows) does not count. */
const SEQ_SCAN_ON_USERS = /Seq Scan on users(?![\w])/;
/** The plan's scan nodes, e.g. "Index Scan Backward using users_created_at_id_idx on users". */
const SCAN_NODE = /(?:Parallel )?(?:Seq Scan|Index Scan(?: Backward)?|Index Only Scan(?: Backward)?|Bitmap Heap Scan|Bitmap Index Scan)(?: using \w+)? on \w+/g;

/**
 * EXPLAIN (ANALYZE, BUFFERS, FORMAT TEXT) of each admin query against the
 * seeded database, with the same text and parameters the service sends (the
 * plan of an unnamed statement, as the service's driver makes, is planned
 * for its actual parameters too). Each query runs once first, so the plan is
 * of a warm cache, as under load. Writes one file per plan; returns a summary.
 */
export async function captureAdminPlans({ root, databaseUrl, keyset, filePrefix, size }) {
  const m = await serviceModules(root);
  return withClient(databaseUrl, async (client) => {
    const plans = [];
    for (const { name, sql, note } of adminPlans(m, { keyset })) {
      const { rowCount } = await client.query(sql.text, sql.values);
      const { rows } = await client.query(`EXPLAIN (ANALYZE, BUFFERS, FORMAT TEXT) ${sql.text}`, sql.values);
      const plan = rows.map((row) => row['QUERY PLAN']).join('\n');
      const file = `${filePrefix}${sizeLabel(size)}.${name}.txt`;
      const header = [
        `-- ${name} on a database of ${size.toLocaleString('en')} seeded users${note ? ` (${note})` : ''}`,
        `-- parameters: ${JSON.stringify(sql.values)}`,
        sql.text,
        '',
      ].join('\n');
      writeFileSync(file, `${header}\n${plan}\n`);
      const executionMs = Number(/Execution Time: ([\d.]+) ms/.exec(plan)?.[1] ?? NaN);
      const scans = [...new Set(plan.match(SCAN_NODE) ?? [])].map((scan) => scan.trim());
      plans.push({ name, size, file, rows: rowCount, executionMs, seqScanOnUsers: SEQ_SCAN_ON_USERS.test(plan), scans, note });
    }
    return plans;
  });
}
