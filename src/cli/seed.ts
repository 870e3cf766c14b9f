import '../core/runtime/require-node.js';
import 'reflect-metadata';

import { parseArgs } from 'node:util';

import { DataSource, type QueryRunner } from 'typeorm';

import { PasswordHasher } from '../core/auth/password-hasher.js';
import { ConfigError, loadConfig } from '../core/config/config.js';
import { startEmbeddedPostgres } from '../core/database/embedded-postgres.js';
import { runMigrationsLocked } from '../core/database/migrator.js';
import { buildDataSourceOptions } from '../core/database/typeorm-options.js';

/*
 * npm run seed -- --users N: fills a database with realistic, varied users,
 * entirely server-side (INSERT ... SELECT ... FROM generate_series, one
 * statement per batch), for load tests and for trying the admin screens on a
 * database of a real size.
 */

// Ordered roughly by how common they are: the generator favours the front of each list.
const FIRST_NAMES = [
  'Maria', 'Mohammed', 'José', 'Anna', 'David', 'Marco', 'Martin', 'Marie', 'Sofia', 'John',
  'Ana', 'Emma', 'Noah', 'Olivia', 'Liam', 'Sarah', 'Michael', 'James', 'Lucía', 'Mateo',
  'Jean-Luc', 'Léa', 'Chloé', 'François', 'Zoë', 'Camille', 'Hélène', 'Maël', 'Grégoire', 'Anne-Marie',
  'Pierre-Yves', 'Lukas', 'Jürgen', 'Björn', 'Søren', 'Åsa', 'Mårten', 'Łukasz', 'Małgorzata', 'Katarzyna',
  'Zoltán', 'Dávid', 'Jiří', 'Tomáš', 'Ayşe', 'Emre', 'Çağla', 'Mehmet', 'Elif', 'Yuki',
  'Haruto', 'Sakura', 'Hiroshi', 'Priya', 'Arjun', 'Aarav', 'Fatima', 'Aisha', 'Omar', 'Youssef',
  'Chinedu', 'Oluwaseun', 'Kwame', 'Amara', 'Ngozi', 'Thandiwe', 'Minh', 'Thảo', 'Wei', 'Mei',
  'Jia-Hui', 'Seo-yeon', 'Ji-ho', 'Min-jun', 'Alejandro', 'Sofía', 'Martín', 'Joaquín', 'Andrés', 'Inês',
  'João', 'Gonçalo', 'Beatriz', 'Rafael', 'Mateus', 'Matteo', 'Giulia', 'Niccolò', 'Ólafur', 'Sigríður',
  'Eoin', 'Siobhán', 'Niamh', 'Seán', "D'Arcy", 'Dmitri', 'Olga', 'Nikolaos', 'Eleni', 'Kai',
  'Leilani', 'Aroha',
];

const LAST_NAMES = [
  'García', 'Müller', 'Smith', 'Nguyễn', 'Martin', 'Rossi', 'Silva', 'Kowalski', 'Kim', 'Wang',
  "O'Brien", 'Dubois', 'Santos', 'Nowak', 'Yılmaz', 'Tanaka', 'Lee', 'Li', 'Singh', 'Patel',
  'Hernández', 'López', 'Pérez', 'Rodríguez', 'Fernández', 'González', 'Sánchez', 'Martínez', 'Gómez', 'Núñez',
  'Peña', 'Ibáñez', 'Ferreira', 'Gonçalves', 'Conceição', 'Araújo', 'Schmidt', 'Schneider', 'Fischer', 'Weiß',
  'Groß', 'Schäfer', 'Jäger', 'Bauer', 'Lefèvre', 'Girard', 'Moreau', 'Fontaine', 'Saint-Exupéry', 'de la Cruz',
  'van der Berg', "D'Angelo", "Dell'Acqua", 'Esposito', 'Bianchi', 'Romano', 'Colombo', 'Johansson', 'Andersson', 'Lindqvist',
  'Sørensen', 'Jørgensen', 'Håkansson', 'MacDonald', 'McCarthy', "O'Connor", 'Ó Súilleabháin', 'Jones', 'Williams', 'Brown',
  'Wójcik', 'Novák', 'Dvořák', 'Černý', 'Kovács', 'Nagy', 'Horváth', 'Szabó', 'Öztürk', 'Şahin',
  'Suzuki', 'Satō', 'Watanabe', 'Park', 'Zhang', 'Chen', 'Sharma', 'Gupta', 'Khan', 'Al-Farsi',
  'El-Amin', 'Ben-David', 'Cohen', 'Okafor', 'Adeyemi', 'Mensah', 'Diallo', "N'Diaye", 'Dlamini', 'Petrov',
  'Ivanova', 'Papadopoulos', 'Virtanen', 'Mäkinen', 'Popescu', 'Đorđević',
];

// Reserved names (RFC 2606 / RFC 6761): no seeded address can ever receive a mail.
const EMAIL_DOMAINS = [
  'gmail.example', 'outlook.example', 'yahoo.example', 'icloud.example', 'example.com', 'gmx.example',
  'proton.example', 'orange.example', 'web.example', 'example.org', 'libero.example', 'naver.example',
];

/** E.164 mobile numbers: the country code and mobile prefix, then this many random digits. */
const MOBILE_PLANS: [prefix: string, digits: number][] = [
  ['+1415', 7], ['+1212', 7], ['+1646', 7], ['+447', 9], ['+336', 8], ['+337', 8], ['+4915', 9], ['+4917', 9],
  ['+346', 8], ['+3519', 8], ['+55119', 8], ['+8190', 8], ['+8180', 8], ['+919', 9], ['+614', 8], ['+393', 9],
  ['+316', 8], ['+485', 8], ['+467', 8], ['+905', 9], ['+8210', 8], ['+2348', 9], ['+2547', 8], ['+5255', 8],
];

/** Canonical BCP-47 tags (as the API stores them) with an IANA zone where such a user plausibly lives. */
const LOCALES: [language: string, timezone: string][] = [
  ['en', 'America/New_York'], ['en', 'Europe/London'], ['en', 'America/Los_Angeles'], ['en', 'America/Chicago'],
  ['de', 'Europe/Berlin'], ['fr', 'Europe/Paris'], ['es', 'Europe/Madrid'], ['pt-BR', 'America/Sao_Paulo'],
  ['en', 'UTC'], ['ja', 'Asia/Tokyo'], ['en-GB', 'Europe/London'], ['es', 'America/Mexico_City'],
  ['it', 'Europe/Rome'], ['nl', 'Europe/Amsterdam'], ['pl', 'Europe/Warsaw'], ['en', 'Australia/Sydney'],
  ['fr', 'America/Toronto'], ['de', 'Europe/Vienna'], ['de', 'Europe/Zurich'], ['es', 'America/Bogota'],
  ['es', 'America/Argentina/Buenos_Aires'], ['pt', 'Europe/Lisbon'], ['sv', 'Europe/Stockholm'], ['tr', 'Europe/Istanbul'],
  ['ko', 'Asia/Seoul'], ['zh-CN', 'Asia/Shanghai'], ['en', 'Asia/Kolkata'], ['hi', 'Asia/Kolkata'],
  ['en', 'Africa/Lagos'], ['en', 'Africa/Nairobi'], ['ar', 'Asia/Dubai'], ['fr', 'Africa/Dakar'],
  ['da', 'Europe/Copenhagen'], ['fi', 'Europe/Helsinki'], ['cs', 'Europe/Prague'], ['hu', 'Europe/Budapest'],
  ['el', 'Europe/Athens'], ['vi', 'Asia/Ho_Chi_Minh'], ['en', 'Pacific/Auckland'], ['ja', 'Asia/Tokyo'],
];

const BLOCK_REASONS = [
  'Chargeback fraud confirmed by the payments team',
  'Repeated abusive messages to sellers',
  'Account takeover: credentials found in a breach dump',
  'Spam listings after two warnings',
  'Several accounts for one person (terms of service 4.2)',
  'Stolen card used for several orders',
];
const SUSPEND_REASONS = [
  'Identity verification pending',
  'Unusual sign-in activity; under review',
  'Repeated late returns',
  'Suspicious order pattern under review',
  'Reported by several users; investigating',
  'Cooling-off period after a payment dispute',
];
const DEACTIVATE_REASONS = [
  'Closed at the user’s request',
  'No longer uses the service',
  'Duplicate account, merged into another',
  'Erasure request received',
];
const ADMIN_USER_AGENTS = [
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36',
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_6) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15',
  'Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0',
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36',
];
/** The admins' offices, in the documentation ranges (RFC 5737). */
const ADMIN_NETWORKS = ['203.0.113.', '198.51.100.', '192.0.2.'];

const TRANSLITERATE: Record<string, string> = { ł: 'l', ø: 'o', æ: 'ae', ß: 'ss', đ: 'd', ı: 'i', œ: 'oe', þ: 'th', ð: 'd' };

/** The ASCII local-part form of a name: "Ó Súilleabháin" → "osuilleabhain", "Jean-Luc" → "jean-luc". */
export function emailSlug(name: string): string {
  return name
    .normalize('NFD')
    .replace(/\p{M}/gu, '')
    .toLowerCase()
    .replace(/[łøæßđıœþð]/g, (c) => TRANSLITERATE[c]!)
    .replace(/[^a-z0-9-]/g, '');
}

/** One in this many seeded users is an admin (the first of each run among them). */
const ADMIN_EVERY = 1_000;
/** Seeds on one database queue behind each other: each run numbers its emails after the previous ones. */
const SEED_LOCK_ID = 727_001_003;

export interface SeedOptions {
  users: number;
  /** The hash every seeded user gets: PasswordHasher.hash(password), made once. */
  passwordHash: string;
  /** Users per statement (and per transaction). */
  batch?: number;
  /** ANALYZE the tables and VACUUM users afterwards (default true). */
  analyze?: boolean;
  onProgress?: (done: number, total: number) => void;
}

export interface SeedResult {
  users: number;
  preferences: number;
  auditEntries: number;
  /** The email numbers of this run are firstNumber .. firstNumber + users - 1. */
  firstNumber: number;
  seconds: number;
  rowsPerSecond: number;
}

/*
 * One statement per batch: the rows are drawn in `base`, shaped in `shaped`,
 * and three data-modifying CTEs write users, their preferences and the audit
 * entries of the blocks and suspensions. Everything random is drawn once per
 * row in `base` (a MATERIALIZED CTE), so the three inserts agree.
 * created_at grows with the row number (uniform over the run's time span,
 * jittered within its slot), so the (created_at, id) indexes are appended to.
 */
const BATCH_SQL = `
WITH drawn AS (
  SELECT i,
         $5::timestamptz + ($6::timestamptz - $5::timestamptz) * ((i - 1 + random()) / $3::int) AS created_at,
         uuid_send(gen_random_uuid()) AS random_bytes
    FROM generate_series($1::int, $2::int) AS i
),
base AS MATERIALIZED (
  SELECT i,
         $4::bigint + i AS n,
         -- A UUIDv7 (RFC 9562) of created_at: 48 bits of Unix milliseconds, the version, 74 random bits.
         encode(set_byte(overlay(random_bytes PLACING substring(int8send(floor(extract(epoch FROM created_at) * 1000)::bigint) FROM 3 FOR 6) FROM 1 FOR 6),
                         6, (get_byte(random_bytes, 6) & 15) | 112), 'hex')::uuid AS id,
         created_at,
         (i % ${ADMIN_EVERY} = 1) AS is_admin,
         1 + floor(power(random(), 1.8) * cardinality($8::text[]))::int AS fi,
         1 + floor(power(random(), 1.4) * cardinality($10::text[]))::int AS li,
         1 + floor(power(random(), 1.6) * cardinality($12::text[]))::int AS di,
         random() AS r_status, random() AS r_lapsed, random() AS r_when, random() AS r_length,
         random() AS r_reason, random() AS r_verified, random() AS r_mobile, random() AS r_digits,
         random() AS r_admin, random() AS r_prefs, random() AS r_updated
    FROM drawn
),
pool AS (
  SELECT $13::uuid[] || coalesce((SELECT array_agg(id ORDER BY i) FROM base WHERE is_admin), '{}') AS ids,
         $14::timestamptz[] || coalesce((SELECT array_agg(created_at ORDER BY i) FROM base WHERE is_admin), '{}') AS created
),
picked AS (
  SELECT b.*,
         CASE WHEN b.is_admin OR b.r_status < 0.93 THEN 'active'
              WHEN b.r_status < 0.96 THEN 'blocked'
              WHEN b.r_status < 0.98 THEN 'suspended'
              ELSE 'deactivated' END AS status,
         p.ids[1 + floor(b.r_admin * cardinality(p.ids))::int] AS actor_id,
         p.created[1 + floor(b.r_admin * cardinality(p.ids))::int] AS actor_created_at
    FROM base b CROSS JOIN pool p
),
timed AS (
  SELECT k.*,
         -- A status change comes after the user signed up and after its admin did.
         greatest(k.created_at, k.actor_created_at) AS earliest,
         -- The end of a suspension that has lapsed already (about a quarter of them).
         $6::timestamptz - interval '1 day' * (1 + 29 * k.r_length) AS lapsed_end
    FROM picked k
),
shaped AS MATERIALIZED (
  SELECT t.*,
         CASE t.status
           WHEN 'blocked' THEN t.earliest + ($6::timestamptz - t.earliest) * t.r_when
           WHEN 'suspended' THEN CASE WHEN t.r_lapsed < 0.75
             THEN greatest(t.earliest, $6::timestamptz - interval '30 days' * t.r_when)
             ELSE greatest(t.earliest, t.lapsed_end - interval '1 day' * (7 + 53 * t.r_when)) END
           WHEN 'deactivated' THEN t.created_at + ($6::timestamptz - t.created_at) * t.r_when
         END AS changed_at
    FROM timed t
),
final AS MATERIALIZED (
  SELECT s.*,
         CASE s.status
           WHEN 'blocked' THEN ($17::text[])[1 + floor(s.r_reason * cardinality($17::text[]))::int]
           WHEN 'suspended' THEN ($18::text[])[1 + floor(s.r_reason * cardinality($18::text[]))::int]
           WHEN 'deactivated' THEN ($19::text[])[1 + floor(s.r_reason * cardinality($19::text[]))::int]
         END AS status_reason,
         CASE WHEN s.status = 'suspended' THEN CASE WHEN s.r_lapsed < 0.75
           THEN $6::timestamptz + interval '1 day' * (1 + 89 * s.r_length)
           ELSE greatest(s.lapsed_end, s.changed_at + interval '1 day') END
         END AS status_until,
         coalesce(s.changed_at, CASE WHEN s.r_updated < 0.6 THEN s.created_at
           ELSE s.created_at + ($6::timestamptz - s.created_at) * s.r_updated END) AS updated_at
    FROM shaped s
),
inserted_users AS (
  INSERT INTO users (id, email, password_hash, name, mobile, role, status, status_reason, status_until, email_verified, created_at, updated_at)
  SELECT id,
         ($9::text[])[fi] || '.' || ($11::text[])[li] || '.' || n || '@' || ($12::text[])[di],
         $7::text,
         ($8::text[])[fi] || ' ' || ($10::text[])[li],
         CASE WHEN r_mobile < 0.7 THEN
           ($15::text[])[1 + floor(r_mobile / 0.7 * cardinality($15::text[]))::int]
           || lpad(floor(r_digits * 10 ^ ($16::int[])[1 + floor(r_mobile / 0.7 * cardinality($15::text[]))::int])::bigint::text,
                   ($16::int[])[1 + floor(r_mobile / 0.7 * cardinality($15::text[]))::int], '0')
         END,
         CASE WHEN is_admin THEN 'admin' ELSE 'user' END,
         status, status_reason, status_until,
         is_admin OR r_verified < 0.8,
         created_at, updated_at
    FROM final
   ORDER BY i
),
inserted_preferences AS (
  INSERT INTO user_preferences (user_id, email_notifications, push_notifications, sms_notifications, marketing_emails, language, timezone, updated_at)
  SELECT id, random() < 0.85, random() < 0.7, random() < 0.15, random() < 0.3,
         ($20::text[])[1 + floor(power(r_prefs / 0.4, 1.5) * cardinality($20::text[]))::int],
         ($21::text[])[1 + floor(power(r_prefs / 0.4, 1.5) * cardinality($20::text[]))::int],
         created_at + ($6::timestamptz - created_at) * random()
    FROM final
   WHERE r_prefs < 0.4
   RETURNING 1
),
inserted_audit AS (
  INSERT INTO audit_entries (actor_type, actor_id, action, target_id, reason, ip, user_agent, correlation_id, changes_before, changes_after, created_at)
  SELECT 'user', actor_id, 'user.status_changed', id, status_reason,
         ($22::text[])[1 + floor(random() * cardinality($22::text[]))::int] || (1 + floor(random() * 254))::int,
         ($23::text[])[1 + floor(random() * cardinality($23::text[]))::int],
         gen_random_uuid()::text,
         jsonb_build_object('status', 'active', 'statusReason', NULL, 'statusUntil', NULL),
         jsonb_build_object('status', status, 'statusReason', status_reason,
           'statusUntil', to_char(status_until AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')),
         changed_at
    FROM final
   WHERE status IN ('blocked', 'suspended')
   RETURNING 1
)
SELECT (SELECT count(*) FROM final)::int AS users,
       (SELECT count(*) FROM inserted_preferences)::int AS preferences,
       (SELECT count(*) FROM inserted_audit)::int AS audit_entries`;

/**
 * Inserts `options.users` users (and their preferences and audit trail) in
 * batches, each batch one statement in its own transaction. Re-runnable: the
 * emails of a run are numbered after the highest number already in use.
 */
export async function seed(dataSource: DataSource, options: SeedOptions): Promise<SeedResult> {
  const { users: total, passwordHash, batch = 100_000, analyze = true } = options;
  if (!Number.isInteger(total) || total < 1) throw new Error('users must be a positive integer');
  if (!Number.isInteger(batch) || batch < 1) throw new Error('batch must be a positive integer');
  const started = process.hrtime.bigint();
  const runner = dataSource.createQueryRunner();
  await runner.connect();
  try {
    await runner.query('SELECT pg_advisory_lock($1)', [SEED_LOCK_ID]);
    try {
      const result = await insertAll(runner, total, batch, passwordHash, options.onProgress);
      if (analyze) {
        // Fresh statistics for the planner, and a visibility map so index-only scans work
        // (on users, and on the search terms its trigger keeps, where the schema has them).
        const [{ terms }] = (await runner.query(`SELECT to_regclass('user_search_terms') IS NOT NULL AS terms`)) as { terms: boolean }[];
        await runner.query(`VACUUM (ANALYZE) users${terms ? ', user_search_terms' : ''}`);
        await runner.query('ANALYZE user_preferences, audit_entries, user_counts');
      }
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      return { ...result, users: total, seconds, rowsPerSecond: total / seconds };
    } finally {
      await runner.query('SELECT pg_advisory_unlock($1)', [SEED_LOCK_ID]);
    }
  } finally {
    await runner.release();
  }
}

async function insertAll(
  runner: QueryRunner,
  total: number,
  batch: number,
  passwordHash: string,
  onProgress: SeedOptions['onProgress'],
): Promise<Omit<SeedResult, 'users' | 'seconds' | 'rowsPerSecond'>> {
  // Any email ending in .<number>@ counts, seeded or not: a few false positives only raise the offset.
  const [{ offset }] = (await runner.query(
    `SELECT coalesce(max(substring(email FROM '\\.([0-9]{1,15})@')::bigint), 0)::bigint AS offset FROM users`,
  )) as { offset: string }[];
  const [{ t0, t1 }] = (await runner.query(`SELECT now() - interval '5 years' AS t0, now() AS t1`)) as { t0: Date; t1: Date }[];
  const firstNames = FIRST_NAMES;
  const lastNames = LAST_NAMES;
  let preferences = 0;
  let auditEntries = 0;
  for (let from = 1; from <= total; from += batch) {
    const to = Math.min(total, from + batch - 1);
    // The admins already there, so the audit entries of this batch have actors even without one of its own.
    const [admins] = (await runner.query(
      `SELECT coalesce(array_agg(id ORDER BY created_at), '{}') AS ids, coalesce(array_agg(created_at ORDER BY created_at), '{}') AS created
         FROM (SELECT id, created_at FROM users WHERE role = 'admin' AND status = 'active' ORDER BY created_at LIMIT 1000) a`,
    )) as { ids: string[]; created: Date[] }[];
    await runner.startTransaction();
    try {
      await runner.query(`SET LOCAL work_mem = '64MB'`);
      const [row] = (await runner.query(BATCH_SQL, [
        from,
        to,
        total,
        offset,
        t0,
        t1,
        passwordHash,
        firstNames,
        firstNames.map(emailSlug),
        lastNames,
        lastNames.map(emailSlug),
        EMAIL_DOMAINS,
        admins!.ids,
        admins!.created,
        MOBILE_PLANS.map(([prefix]) => prefix),
        MOBILE_PLANS.map(([, digits]) => digits),
        BLOCK_REASONS,
        SUSPEND_REASONS,
        DEACTIVATE_REASONS,
        LOCALES.map(([language]) => language),
        LOCALES.map(([, timezone]) => timezone),
        ADMIN_NETWORKS,
        ADMIN_USER_AGENTS,
      ])) as { users: number; preferences: number; audit_entries: number }[];
      await runner.commitTransaction();
      preferences += row!.preferences;
      auditEntries += row!.audit_entries;
    } catch (error) {
      await runner.rollbackTransaction();
      throw error;
    }
    onProgress?.(to, total);
  }
  return { preferences, auditEntries, firstNumber: Number(offset) + 1 };
}

const USAGE = `usage: npm run seed -- --users N [--password P] [--batch N]

Adds N realistic users (names, emails, mobiles, statuses, roles, preferences,
and an audit entry per block or suspension) to the database, after running the
pending migrations. Every seeded user signs in with the same password.

  --users N      how many users to add (1 to 10,000,000), required
  --password P   their password (default: Seeded-password-1), hashed once at BCRYPT_COST
  --batch N      users per statement and transaction (default: 100000)

The database is DATABASE_URL; without it (outside production) the embedded
development database, started the way \`npm start\` starts it. Re-running adds N
more users: their emails are numbered after the highest number in use.`;

function readArgs(argv: string[]): { users: number; password: string; batch: number } | undefined {
  const { values } = parseArgs({
    args: argv,
    options: {
      users: { type: 'string' },
      password: { type: 'string' },
      batch: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) return undefined;
  const int = (name: string, raw: string | undefined, fallback: number | undefined, max: number): number => {
    if (raw === undefined) {
      if (fallback === undefined) throw new ConfigError(`--${name} is required (see --help)`);
      return fallback;
    }
    const value = Number(raw);
    if (!Number.isInteger(value) || value < 1 || value > max) throw new ConfigError(`--${name} must be an integer from 1 to ${max} (got "${raw}")`);
    return value;
  };
  const password = values.password ?? 'Seeded-password-1';
  if (password.length === 0) throw new ConfigError('--password must not be empty');
  return { users: int('users', values.users, undefined, 10_000_000), password, batch: int('batch', values.batch, 100_000, 1_000_000) };
}

async function main(argv: string[]): Promise<void> {
  const args = readArgs(argv);
  if (!args) {
    console.log(USAGE);
    return;
  }
  const config = loadConfig();
  const embedded = config.databaseUrl ? undefined : await startEmbeddedPostgres(config.dataDir, config.embeddedDatabasePort, console.error);
  if (embedded) console.error(`No DATABASE_URL: seeding the embedded PostgreSQL on 127.0.0.1:${config.embeddedDatabasePort} (data in ${config.dataDir})`);
  const dataSource = new DataSource(buildDataSourceOptions(config.databaseUrl ?? embedded!.url));
  await dataSource.initialize();
  try {
    await runMigrationsLocked(dataSource);
    // Hashed once, the way the service hashes (SHA-256 pre-hash, then bcrypt at BCRYPT_COST).
    const passwordHash = await new PasswordHasher(config).hash(args.password);
    const result = await seed(dataSource, {
      users: args.users,
      passwordHash,
      batch: args.batch,
      onProgress: (done, total) => console.error(`seed: ${done.toLocaleString('en')} / ${total.toLocaleString('en')} users`),
    });
    console.log(
      `seeded ${result.users.toLocaleString('en')} users (${result.preferences.toLocaleString('en')} preferences, ` +
        `${result.auditEntries.toLocaleString('en')} audit entries) in ${result.seconds.toFixed(1)} s: ` +
        `${Math.round(result.rowsPerSecond).toLocaleString('en')} users/s`,
    );
  } finally {
    await dataSource.destroy();
    await embedded?.stop();
  }
}

// Run only as the entry point, so tests and the benchmark can import seed().
if (/[\\/]cli[\\/]seed\.[jt]s$/.test(process.argv[1] ?? '')) {
  main(process.argv.slice(2)).catch((error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
  });
}
