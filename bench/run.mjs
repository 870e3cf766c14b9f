#!/usr/bin/env node
// Benchmark harness of the user service: see bench/README.md.
//
//   npm run bench                      # build, then the full run
//   node bench/run.mjs --quick         # smoke test: 1 run of 3 s per scenario
//   node bench/run.mjs --only me,login --runs 5 --duration 20
//
// Load goes to 127.0.0.1 only, every loop is bounded, and everything this run
// creates (child processes, databases, Redis keys, RabbitMQ vhost, logs) is
// removed at the end, on failure and on Ctrl-C.
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, createReadStream } from 'node:fs';
import os from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

import {
  captureAdminPlans,
  countLapsedSuspensions,
  DEEP_PAGE,
  login,
  pickSeededUsers,
  seedAdminDatabase,
  sizeLabel,
  walkToPage,
} from './lib/admin.mjs';
import { measureBcryptCeiling, threadPoolSize } from './lib/ceiling.mjs';
import {
  countRedisKeys,
  createDatabase,
  createVhost,
  deleteRedisKeys,
  deleteVhost,
  dropDatabase,
  generateJwtKeys,
} from './lib/infra.mjs';
import { medianBy, runLoads } from './lib/load.mjs';
import {
  forkReference,
  freePort,
  killAllChildrenSync,
  rssMiB,
  sleep,
  spawnNode,
  stopAllChildren,
  stopChild,
  tailFile,
  waitForIdle,
  waitForOk,
  waitForQuietMachine,
} from './lib/proc.mjs';
import { formatSizeComparison, formatTable } from './lib/report.mjs';
import { ADMIN_SCENARIOS, API, selectScenarios } from './lib/scenarios.mjs';

const BENCH_DIR = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(BENCH_DIR, '..');
const SERVICE_ENTRY = join(ROOT, 'dist/src/main.js');
/** The NODE_OPTIONS the image runs the service with (docker/Dockerfile), so the benchmark measures it as deployed. */
const SERVICE_NODE_OPTIONS = imageNodeOptions();

function imageNodeOptions() {
  const dockerfile = readFileSync(join(ROOT, 'docker/Dockerfile'), 'utf8');
  const found = dockerfile.match(/NODE_OPTIONS="([^"]*)"/);
  if (!found) throw new Error('docker/Dockerfile sets no NODE_OPTIONS="..."');
  return found[1];
}

/** Users whose access tokens GET /users/me rotates through; the other seeded users are refresh chains. */
const ME_TOKEN_USERS = 10;
/** Pause between two runs against one target, so the previous one's stragglers are done. */
const PAUSE_MS = 1_000;
/** Well above the 1.0 s … 3 s a bcrypt-bound request takes here, well below "hung". */
const REQUEST_TIMEOUT_SECONDS = 10;
/** Other work above this much CPU (100% = one core) during a run marks its numbers as unreliable. */
const NOISY_PERCENT = 25;
/** Enough seeded users that the login pool and the /users/me users never share one (about 93% are active users). */
const MIN_ADMIN_USERS = 1_000;
/** SUSPENSION_SWEEP_SECONDS of the admin phases' services: the seed's lapsed suspensions are lifted before the runs. */
const ADMIN_SWEEP_SECONDS = 2;
/** MESSAGE_PREFETCH of the service and the prefetch of the RabbitMQ echo reference. */
const RMQ_PREFETCH = 32;
/** The echo reference's queue, in the run's own vhost. */
const ECHO_QUEUE = 'bench-echo';

// ---------------------------------------------------------------- options

function readOptions(argv) {
  const { values } = parseArgs({
    args: argv,
    options: {
      duration: { type: 'string' },
      connections: { type: 'string' },
      'auth-connections': { type: 'string' },
      runs: { type: 'string' },
      warmup: { type: 'string' },
      users: { type: 'string' },
      'ceiling-seconds': { type: 'string' },
      'quiet-wait': { type: 'string' },
      only: { type: 'string' },
      'admin-users': { type: 'string' },
      quick: { type: 'boolean' },
      'keep-logs': { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) {
    console.log(`usage: node bench/run.mjs [options]   (each also as an environment variable)
  --duration S          seconds per run                    BENCH_DURATION          (10; --quick: 3)
  --connections N       connections, most scenarios        BENCH_CONNECTIONS       (50)
  --auth-connections N  connections for login/register     BENCH_AUTH_CONNECTIONS  (20)
  --runs N              measured runs; the median is kept  BENCH_RUNS              (3; --quick: 1)
  --warmup S            seconds of the discarded warm-up   BENCH_WARMUP            (= duration; --quick: 1)
  --users N             users seeded per service instance  BENCH_USERS             (200; --quick: 80)
  --ceiling-seconds S   seconds of each bcrypt ceiling     BENCH_CEILING_SECONDS   (5; --quick: 2)
  --quiet-wait S        before each run, wait up to S s for
                        the machine to be quiet (0: never)  BENCH_QUIET_WAIT        (20; --quick: 5)
  --only a,b            scenario ids (or prefixes: login)  BENCH_ONLY
  --admin-users a,b     database sizes of the admin         BENCH_ADMIN_USERS       (1000,1000000;
                        scenarios (none: no admin phases)                            --quick: 1000,100000)
  --quick               smoke test settings                BENCH_QUICK=1
  --keep-logs           keep the service logs (path printed) BENCH_KEEP_LOGS=1
Local services (defaults): BENCH_DATABASE_URL postgres://postgres@127.0.0.1:5432/postgres,
BENCH_REDIS_URL redis://127.0.0.1:6379, BENCH_RABBITMQ_URL amqp://guest:guest@127.0.0.1:5672.
BENCH_ENV_<NAME>=value passes <NAME>=value to the service (e.g. BENCH_ENV_LOG_LEVEL=silent).`);
    process.exit(0);
  }
  const env = process.env;
  const flag = (name, envName) => values[name] ?? env[envName];
  const quick = Boolean(values.quick) || ['1', 'true', 'yes'].includes((env.BENCH_QUICK ?? '').toLowerCase());
  const int = (name, envName, fallback, min, max) => {
    const raw = flag(name, envName);
    if (raw === undefined || raw === '') return fallback;
    const value = Number(raw);
    if (!Number.isInteger(value) || value < min || value > max) throw new Error(`--${name} must be an integer from ${min} to ${max} (got "${raw}")`);
    return value;
  };
  const duration = int('duration', 'BENCH_DURATION', quick ? 3 : 10, 1, 600);
  const options = {
    quick,
    duration,
    connections: int('connections', 'BENCH_CONNECTIONS', 50, 1, 1_000),
    authConnections: int('auth-connections', 'BENCH_AUTH_CONNECTIONS', 20, 1, 1_000),
    runs: int('runs', 'BENCH_RUNS', quick ? 1 : 3, 1, 21),
    warmup: int('warmup', 'BENCH_WARMUP', quick ? 1 : duration, 0, 600),
    users: int('users', 'BENCH_USERS', quick ? 80 : 200, ME_TOKEN_USERS + 1, 5_000),
    ceilingSeconds: int('ceiling-seconds', 'BENCH_CEILING_SECONDS', quick ? 2 : 5, 1, 60),
    quietWaitSeconds: int('quiet-wait', 'BENCH_QUIET_WAIT', quick ? 5 : 20, 0, 600),
    only: (flag('only', 'BENCH_ONLY') ?? '').split(',').map((s) => s.trim()).filter(Boolean),
    adminUsers: adminSizes(flag('admin-users', 'BENCH_ADMIN_USERS'), quick),
    keepLogs: Boolean(values['keep-logs']) || ['1', 'true', 'yes'].includes((env.BENCH_KEEP_LOGS ?? '').toLowerCase()),
    requestTimeoutSeconds: REQUEST_TIMEOUT_SECONDS,
    pauseBetweenRunsMs: PAUSE_MS,
    databaseAdminUrl: env.BENCH_DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/postgres',
    redisUrl: env.BENCH_REDIS_URL || 'redis://127.0.0.1:6379',
    rabbitmqUrl: env.BENCH_RABBITMQ_URL || 'amqp://guest:guest@127.0.0.1:5672',
  };
  for (const [name, url] of [
    ['BENCH_DATABASE_URL', options.databaseAdminUrl],
    ['BENCH_REDIS_URL', options.redisUrl],
    ['BENCH_RABBITMQ_URL', options.rabbitmqUrl],
  ]) {
    // The network rules of this workplace: load and connections stay on this machine.
    const host = new URL(url).hostname;
    if (!['127.0.0.1', 'localhost', '[::1]', '::1'].includes(host)) throw new Error(`${name} must point at this machine (got ${host})`);
  }
  return options;
}

/** --admin-users: a comma-separated list of database sizes (distinct), or "none". */
function adminSizes(raw, quick) {
  if (raw === undefined || raw.trim() === '') return quick ? [1_000, 100_000] : [1_000, 1_000_000];
  if (raw.trim() === 'none') return [];
  const sizes = raw.split(',').map((part) => part.trim().replace(/_/g, ''));
  for (const size of sizes) {
    const value = Number(size);
    if (!Number.isInteger(value) || value < MIN_ADMIN_USERS || value > 10_000_000) {
      throw new Error(`--admin-users takes sizes from ${MIN_ADMIN_USERS} to 10000000, comma-separated, or none (got "${size}")`);
    }
  }
  return [...new Set(sizes.map(Number))].sort((a, b) => a - b);
}

// ---------------------------------------------------------------- cleanup

const created = { databases: [], vhost: undefined, redisPrefix: undefined, logDir: undefined };
let cleaning;

async function cleanUp(opts) {
  cleaning ??= (async () => {
    const problems = [];
    const attempt = async (what, fn) => {
      try {
        await fn();
      } catch (error) {
        problems.push(`${what}: ${error.message}`);
      }
    };
    await attempt('stopping child processes', () => stopAllChildren());
    for (const name of created.databases) await attempt(`dropping database ${name}`, () => dropDatabase(opts.databaseAdminUrl, name));
    if (created.redisPrefix) {
      await attempt(`deleting Redis keys ${created.redisPrefix}*`, async () => {
        const deleted = await deleteRedisKeys(opts.redisUrl, created.redisPrefix);
        progress(`cleanup: ${deleted} Redis key(s) with prefix ${created.redisPrefix} deleted`);
      });
    }
    if (created.vhost) await attempt(`deleting RabbitMQ vhost ${created.vhost}`, () => deleteVhost(created.vhost));
    if (created.logDir) {
      if (opts.keepLogs) progress(`logs kept in ${created.logDir}`);
      else await attempt('removing logs', async () => rmSync(created.logDir, { recursive: true, force: true }));
    }
    if (created.databases.length > 0) progress(`cleanup: database(s) ${created.databases.join(', ')} dropped`);
    for (const problem of problems) console.error(`cleanup problem: ${problem}`);
    return problems.length === 0;
  })();
  return cleaning;
}

function progress(message) {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${message}\n`);
}

// ---------------------------------------------------------------- service and references

function serviceEnv({ port, databaseUrl, redisUrl, redisPrefix, rabbitmqUrl, keys, cost, extra }) {
  const env = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    LANG: process.env.LANG ?? 'C.UTF-8',
    NODE_ENV: rabbitmqUrl ? 'production' : 'development',
    NODE_OPTIONS: SERVICE_NODE_OPTIONS,
    PORT: String(port),
    HOST: '127.0.0.1',
    DATABASE_URL: databaseUrl,
    REDIS_URL: redisUrl,
    REDIS_KEY_PREFIX: redisPrefix,
    ...(rabbitmqUrl ? { RABBITMQ_URL: rabbitmqUrl } : {}),
    JWT_PRIVATE_KEY: keys.privateKey,
    JWT_PUBLIC_KEY: keys.publicKey,
    LOG_LEVEL: 'info',
    // Its default, set here so the echo reference provably consumes with the same one.
    MESSAGE_PREFETCH: String(RMQ_PREFETCH),
    BCRYPT_COST: String(cost),
    // The config caps limits at 1,000,000 per window: far beyond what a run sends.
    RATE_LIMIT_REGISTER_LIMIT: '1000000',
    RATE_LIMIT_LOGIN_LIMIT: '1000000',
    LOGIN_LOCKOUT_FAILURES: '1000000',
    LOGIN_ACCOUNT_LOCKOUT_FAILURES: '1000000',
    RATE_LIMIT_REFRESH_LIMIT: '1000000',
    // The seeded access tokens must outlive the whole run (the default is 15 min).
    ACCESS_TOKEN_TTL_SECONDS: '86400',
    ...extra,
  };
  if (process.env.UV_THREADPOOL_SIZE) env.UV_THREADPOOL_SIZE = process.env.UV_THREADPOOL_SIZE;
  for (const [name, value] of Object.entries(process.env)) {
    if (name.startsWith('BENCH_ENV_') && name.length > 'BENCH_ENV_'.length) env[name.slice('BENCH_ENV_'.length)] = value;
  }
  return env;
}

async function startService(phase, opts, shared) {
  const port = await freePort();
  const logFile = join(created.logDir, phase.adminUsers ? `service-admin-${sizeLabel(phase.adminUsers)}.log` : `service-cost${phase.cost}.log`);
  const env = serviceEnv({
    port,
    databaseUrl: phase.databaseUrl,
    redisUrl: opts.redisUrl,
    redisPrefix: phase.redisPrefix,
    rabbitmqUrl: shared.rabbitmqUrl,
    keys: shared.keys,
    cost: phase.cost,
    extra: phase.serviceEnv,
  });
  const entry = spawnNode(`service (${phase.name})`, SERVICE_ENTRY, { cwd: ROOT, env, logFile });
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitForOk(`${url}${API}/health/ready`, entry, 120_000);
  } catch (error) {
    console.error(`--- last lines of ${logFile}:\n${tailFile(logFile)}`);
    throw new Error(`service (${phase.name}) did not become ready: ${error.message}`, { cause: error });
  }
  return { kind: 'service', label: 'service', url, pid: entry.child.pid, entry, logFile, nodeEnv: env.NODE_ENV };
}

const REFERENCE_SCRIPTS = { health: 'health-server.mjs', user: 'user-server.mjs', 'rmq-echo': 'rmq-echo-server.mjs' };

async function startReference(kind, phase, shared) {
  const script = join(BENCH_DIR, 'ref', REFERENCE_SCRIPTS[kind]);
  const logFile = join(created.logDir, `reference-${kind}-cost${phase.cost}.log`);
  if (kind === 'rmq-echo') {
    const env = { PATH: process.env.PATH, RABBITMQ_URL: shared.rabbitmqUrl, QUEUE: ECHO_QUEUE, PREFETCH: String(RMQ_PREFETCH) };
    const { entry, ready } = forkReference(`reference ${kind}`, script, { env, logFile });
    await ready;
    const label = `ref ${kind}`;
    return { kind: 'reference', label, url: `queue ${ECHO_QUEUE}`, queue: ECHO_QUEUE, pid: entry.child.pid, entry, logFile };
  }
  const port = await freePort();
  const env = {
    PATH: process.env.PATH,
    PORT: String(port),
    DATABASE_URL: phase.databaseUrl,
    JWT_PUBLIC_KEY: shared.keys.publicKey,
  };
  const { entry, ready } = forkReference(`reference ${kind}`, script, { env, logFile });
  await ready;
  return { kind: 'reference', label: `ref ${kind}`, url: `http://127.0.0.1:${port}`, pid: entry.child.pid, entry, logFile };
}

/** Registers `count` users through the API (8 at a time), keeping their tokens. */
async function seedUsers(service, phase, runTag, password, count) {
  const users = new Array(count);
  let next = 0;
  let failure;
  const worker = async () => {
    while (next < count && !failure) {
      const i = next++;
      const email = `bench-${runTag}-c${phase.cost}-u${i}@example.com`;
      const response = await fetch(`${service.url}${API}/auth/register`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ email, password, name: `Bench User ${i}` }),
        signal: AbortSignal.timeout(60_000),
      });
      const body = await response.text();
      if (response.status !== 201) {
        failure = new Error(`seeding: register answered ${response.status}: ${body.slice(0, 300)}`);
        return;
      }
      const parsed = JSON.parse(body);
      users[i] = { email, password, id: parsed.user.id, accessToken: parsed.accessToken, refreshToken: parsed.refreshToken };
    }
  };
  await Promise.all(Array.from({ length: 8 }, worker));
  if (failure) throw failure;
  return users;
}

/** Counts the service log's lines by level and status code (one line per request at info). */
async function summarizeLog(logFile) {
  const summary = { lines: 0, requestLines: 0, byLevel: {}, byStatus: {}, samples: [] };
  const names = { 10: 'trace', 20: 'debug', 30: 'info', 40: 'warn', 50: 'error', 60: 'fatal' };
  const reader = createInterface({ input: createReadStream(logFile, 'utf8'), crlfDelay: Infinity });
  for await (const line of reader) {
    summary.lines += 1;
    const level = /"level":(\d+)/.exec(line)?.[1];
    const name = names[level] ?? 'other';
    summary.byLevel[name] = (summary.byLevel[name] ?? 0) + 1;
    const status = /"statusCode":(\d{3})/.exec(line)?.[1];
    if (status) {
      summary.requestLines += 1;
      summary.byStatus[status] = (summary.byStatus[status] ?? 0) + 1;
    }
    if (Number(level) >= 40 && summary.samples.length < 8) summary.samples.push(line.slice(0, 400));
  }
  return summary;
}

// ---------------------------------------------------------------- admin phases

/**
 * The service instances a run needs, in running order: one per BCRYPT_COST for
 * the scenarios seeded through the API (key c<cost>, as before the admin
 * scenarios), then one per admin database size (key a<size>).
 */
function planPhases(scenarios) {
  const phases = [];
  for (const scenario of scenarios) {
    const key = scenario.adminUsers ? `a${scenario.adminUsers}` : `c${scenario.cost}`;
    let phase = phases.find((p) => p.key === key);
    if (!phase) {
      const name = scenario.adminUsers ? `admin ${sizeLabel(scenario.adminUsers)}` : `cost ${scenario.cost}`;
      phase = { key, name, cost: scenario.cost, adminUsers: scenario.adminUsers, scenarios: [] };
      phases.push(phase);
    }
    phase.scenarios.push(scenario);
  }
  return phases;
}

/**
 * Waits (bounded) until the service's suspension sweep has lifted the seed's
 * lapsed suspensions and the service is idle again, so that work is not in
 * the runs. Returns what it saw.
 */
async function waitForSweep(phase, service) {
  const started = Date.now();
  const lapsed = await countLapsedSuspensions(phase.databaseUrl);
  let left = lapsed;
  for (let i = 0; i < 600 && left > 0; i++) {
    await sleep(500);
    left = await countLapsedSuspensions(phase.databaseUrl);
  }
  await waitForIdle(service.pid);
  const seconds = (Date.now() - started) / 1000;
  progress(`${phase.name}: lapsed suspensions lifted by the service's sweep: ${lapsed - left} of ${lapsed} in ${seconds.toFixed(1)} s`);
  return { lapsedAtStart: lapsed, left, seconds };
}

/**
 * The admin's token (bootstrap admin from ADMIN_EMAIL), the walk to page
 * 1,000, and seeded users: ME_TOKEN_USERS of them signed in for /users/me,
 * opts.users others (never the same) for the login load.
 */
async function prepareAdminPhase(phase, service, opts) {
  const started = Date.now();
  const api = `${service.url}${API}`;
  // The bootstrap admin is created at start; give a slow start a few seconds.
  let token;
  for (let attempt = 1; ; attempt++) {
    try {
      token = await login(api, phase.admin.email, phase.admin.password);
      break;
    } catch (error) {
      if (attempt >= 10) throw new Error(`${phase.name}: the bootstrap admin cannot sign in: ${error.message}`, { cause: error });
      await sleep(1_000);
    }
  }
  progress(`${phase.name}: walking ${DEEP_PAGE - 1} pages of GET /admin/users by nextCursor`);
  const deepPage = await walkToPage(api, token, DEEP_PAGE);
  progress(
    `${phase.name}: reached page ${deepPage.page} in ${deepPage.seconds.toFixed(1)} s` +
      `${deepPage.page < DEEP_PAGE ? ` (the last page: ${sizeLabel(phase.adminUsers)} users make fewer than ${DEEP_PAGE})` : ''}` +
      `${deepPage.problems.length ? `; problems: ${deepPage.problems.join('; ')}` : ''}`,
  );
  const emails = await pickSeededUsers(phase.databaseUrl, ME_TOKEN_USERS + opts.users);
  if (emails.length < ME_TOKEN_USERS + 1) throw new Error(`${phase.name}: only ${emails.length} seeded users can sign in`);
  const users = emails.map((email) => ({ email, password: phase.seedPassword }));
  const meTokens = [];
  for (const user of users.slice(0, ME_TOKEN_USERS)) meTokens.push(await login(api, user.email, user.password));
  return {
    admin: { token, size: phase.adminUsers, deepPage },
    users: users.slice(ME_TOKEN_USERS),
    meTokens,
    seconds: (Date.now() - started) / 1000,
  };
}

// ---------------------------------------------------------------- runs

/** { loadName: { connections, ceiling } } of a scenario, from its loads() with an empty context. */
function describeLoads(scenario, opts) {
  const dummy = { opts, runTag: 'x', cost: scenario.cost, users: [], meTokens: [], password: '', state: {} };
  const meta = {};
  for (const load of scenario.loads?.(dummy, { url: '' }) ?? []) meta[load.name] = { connections: load.connections, ceiling: Boolean(load.ceiling) };
  // A scenario with its own run() (no loads) names its loads itself.
  return scenario.loadMeta ? scenario.loadMeta(opts) : meta;
}

/**
 * One run: started on a quiet machine if one comes within --quiet-wait, and
 * followed by draining the target back to idle (every run starts from an idle target).
 */
async function runOnce(scenario, ctx, target, duration) {
  const quiet = ctx.opts.quietWaitSeconds > 0 ? await waitForQuietMachine({ maxPercent: NOISY_PERCENT, maxMs: ctx.opts.quietWaitSeconds * 1000 }) : undefined;
  if (quiet && !quiet.quiet) {
    progress(`${scenario.id} @ ${target.label}: the machine did not get quiet within ${ctx.opts.quietWaitSeconds} s (other work at ${quiet.lastPercent?.toFixed(0)}% CPU lately); running anyway`);
  }
  // A scenario that is not HTTP (RabbitMQ patterns, later) brings its own run().
  const result = scenario.run
    ? await scenario.run(ctx, target, duration)
    : await runLoads(scenario.loads(ctx, target), target.pid, { duration, timeoutSeconds: ctx.opts.requestTimeoutSeconds });
  result.quietWait = quiet;
  // Nobody but this run should stop it; if something did, the numbers are void.
  if (target.entry.exited) {
    console.error(`--- last lines of ${target.logFile}:\n${tailFile(target.logFile, 10)}`);
    // The service exits 0 only from its SIGTERM/SIGINT handler, and this harness signals it only after the phase.
    const outside = ['code 0', 'SIGTERM', 'SIGINT', 'SIGKILL'].includes(target.entry.exit) ? ': stopped from outside this run (a signal)' : '';
    throw new Error(`${target.label} (pid ${target.pid}) exited during ${scenario.id} (${target.entry.exit}${outside}); no numbers from it`);
  }
  if (scenario.afterRun) await scenario.afterRun(ctx, target);
  await sleep(PAUSE_MS);
  result.drain = await waitForIdle(target.pid);
  if (!result.drain.idle) progress(`${scenario.id} @ ${target.label}: still busy ${result.drain.waitedMs} ms after the run; going on`);
  return result;
}

function describeRun(result) {
  return Object.entries(result.loads)
    .map(([name, s]) => `${name} ${s.rps.toFixed(1)} req/s p99 ${s.p99} ms fail ${s.failures}`)
    .join('; ');
}

/** Warm-up (discarded), idle RSS, then opts.runs measured runs against one target. */
async function runTarget(scenario, ctx, target) {
  const { opts } = ctx;
  await waitForIdle(target.pid);
  let warmup;
  if (opts.warmup > 0) {
    warmup = await runOnce(scenario, ctx, target, opts.warmup);
    progress(`${scenario.id} @ ${target.label}: warm-up ${describeRun(warmup)}`);
  }
  const idleRssMiB = rssMiB(target.pid) ?? null;
  const runs = [];
  for (let i = 0; i < opts.runs; i++) {
    const result = await runOnce(scenario, ctx, target, opts.duration);
    runs.push(result);
    progress(
      `${scenario.id} @ ${target.label}: run ${i + 1}/${opts.runs} ${describeRun(result)} cpu ${result.process.cpuPercent?.toFixed(0)}%` +
        ` (drained in ${(result.drain.waitedMs / 1000).toFixed(1)} s)`,
    );
  }
  const primary = Object.keys(runs[0].loads)[0];
  const median = medianBy(runs, (run) => run.loads[primary].rps);
  const failuresByLoad = {};
  for (const name of Object.keys(runs[0].loads)) failuresByLoad[name] = runs.reduce((sum, run) => sum + run.loads[name].failures, 0);
  return {
    kind: target.kind,
    label: target.label,
    url: target.url,
    idleRssMiB,
    peakRssMiB: Math.max(...runs.map((run) => run.process.peakRssMiB)),
    medianRun: runs.indexOf(median),
    median,
    failuresByLoad,
    runs,
    warmup,
  };
}

/** Admin results side by side: each admin scenario at every size (smallest first), after the other scenarios. */
function orderForTable(scenarioResults) {
  const order = new Map(ADMIN_SCENARIOS.map((scenario, i) => [scenario.id, i]));
  const admin = scenarioResults.filter((r) => r.baseId);
  admin.sort((a, b) => order.get(a.baseId) - order.get(b.baseId) || a.adminUsers - b.adminUsers);
  return [...scenarioResults.filter((r) => !r.baseId), ...admin];
}

function buildRows(scenarioResults, ceilings) {
  const rows = [];
  for (const result of orderForTable(scenarioResults)) {
    const service = result.targets.find((t) => t.kind === 'service');
    const reference = result.targets.find((t) => t.kind === 'reference');
    for (const target of result.targets) {
      for (const [name, load] of Object.entries(target.median.loads)) {
        const meta = result.loadMeta[name];
        const id = result.baseId ? `${result.baseId} @${sizeLabel(result.adminUsers)}` : result.id;
        const row = {
          // Both sizes of an admin scenario are one group of the table.
          scenario: result.baseId ?? result.id,
          id: result.id,
          adminUsers: result.adminUsers ?? null,
          label: result.loadNames.length > 1 ? `${id}: ${name}` : id,
          title: result.title,
          load: name,
          target: target.label,
          connections: meta.connections,
          rps: load.rps,
          p50: load.p50,
          p99: load.p99,
          failures: target.failuresByLoad[name],
          cpuPercent: target.median.process.cpuPercent,
          dependenciesCpuPercent: target.median.process.dependenciesCpuPercent,
          generatorCpuPercent: target.median.process.generatorCpuPercent,
          otherCpuPercent: target.median.process.otherCpuPercent,
          noisy: (target.median.process.otherCpuPercent ?? 0) > NOISY_PERCENT,
          idleRssMiB: target.idleRssMiB,
          peakRssMiB: target.peakRssMiB,
          vsReference: null,
          ceilingPerSecond: null,
          percentOfCeiling: null,
        };
        if (target === service && reference?.median.loads[name]) {
          const ref = reference.median.loads[name];
          row.vsReference = {
            rps: ref.rps ? (load.rps / ref.rps) * 100 : null,
            p50: ref.p50 ? (load.p50 / ref.p50) * 100 : null,
            p99: ref.p99 ? (load.p99 / ref.p99) * 100 : null,
            cpu: reference.median.process.cpuPercent ? (service.median.process.cpuPercent / reference.median.process.cpuPercent) * 100 : null,
            peakRss: reference.peakRssMiB ? (service.peakRssMiB / reference.peakRssMiB) * 100 : null,
          };
        }
        if (meta.ceiling && ceilings[result.cost]) {
          row.ceilingPerSecond = ceilings[result.cost].perSecond;
          row.percentOfCeiling = (load.rps / row.ceilingPerSecond) * 100;
        }
        rows.push(row);
      }
    }
  }
  return rows;
}

// ---------------------------------------------------------------- main

async function main(opts) {
  const startedAt = new Date();
  let scenarios = selectScenarios(opts.only, opts.adminUsers);
  if (!existsSync(SERVICE_ENTRY)) throw new Error(`${SERVICE_ENTRY} is missing: run \`npm run build\` first (or \`npm run bench\`)`);

  const stamp = startedAt.toISOString().replace(/[-:T.Z]/g, '').slice(0, 14);
  const runTag = `${stamp}${randomBytes(3).toString('hex')}`; // lower-case letters and digits only
  created.logDir = mkdtempSync(join(os.tmpdir(), `user-service-bench-${runTag}-`));
  created.redisPrefix = `user-service-bench-${runTag}`;
  const password = `Bench-${randomBytes(6).toString('hex')}-pw`;
  const keys = generateJwtKeys();
  const machine = {
    cpuModel: os.cpus()[0]?.model,
    cpus: os.cpus().length,
    totalMemMiB: Math.round(os.totalmem() / 2 ** 20),
    node: process.version,
    platform: `${os.platform()} ${os.release()}`,
    loadAverageAtStart: os.loadavg(),
    uvThreadpoolSize: threadPoolSize(),
  };
  progress(`run ${runTag}: ${scenarios.map((s) => s.id).join(', ')}; ${opts.runs} run(s) of ${opts.duration} s after a ${opts.warmup} s warm-up`);
  progress(`machine: ${machine.cpus} x ${machine.cpuModel}, ${machine.totalMemMiB} MiB, node ${machine.node}, load average ${machine.loadAverageAtStart.map((l) => l.toFixed(2)).join(' ')}`);

  // Our own vhost keeps the service's durable queue away from anyone else's on this broker.
  let rabbitmqUrl;
  const vhost = `user_service_bench_${runTag}`;
  try {
    rabbitmqUrl = await createVhost(opts.rabbitmqUrl, vhost);
    created.vhost = vhost;
  } catch (error) {
    progress(`no RabbitMQ vhost of our own (${error.message.split('\n')[0]}): the service runs without a broker, NODE_ENV=development`);
  }
  if (!rabbitmqUrl && scenarios.some((s) => s.needsBroker)) {
    progress(`NO BROKER: left out ${scenarios.filter((s) => s.needsBroker).map((s) => s.id).join(', ')} (they need RabbitMQ)`);
    scenarios = scenarios.filter((s) => !s.needsBroker);
    if (scenarios.length === 0) throw new Error('every scenario selected needs RabbitMQ, and this run has no vhost of its own');
  }
  const shared = { keys, rabbitmqUrl };

  const phases = planPhases(scenarios);
  const services = [];
  const ceilings = {};
  const scenarioResults = [];
  const plans = [];
  const states = new Map(scenarios.map((s) => [s.id, {}]));
  const resultsDir = join(BENCH_DIR, 'results');
  const reportBase = join(resultsDir, startedAt.toISOString().replace(/:/g, '-'));
  mkdirSync(resultsDir, { recursive: true });

  for (const phase of phases) {
    const { cost, scenarios: phaseScenarios } = phase;
    const dbName = `user_service_bench_${runTag}_${phase.key}`;
    phase.redisPrefix = `${created.redisPrefix}-${phase.key}`;
    phase.databaseUrl = await createDatabase(opts.databaseAdminUrl, dbName);
    created.databases.push(dbName);
    const serviceInfo = { cost, adminUsers: phase.adminUsers, database: dbName, redisKeyPrefix: phase.redisPrefix };
    services.push(serviceInfo);

    if (phase.adminUsers) {
      // Seeded before the service starts, as an operator would (npm run seed), by the same seed().
      phase.admin = { email: `bench-admin-${runTag}@example.com`, password: `Bench-admin-${randomBytes(6).toString('hex')}-pw` };
      phase.seedPassword = password;
      phase.serviceEnv = {
        ADMIN_EMAIL: phase.admin.email,
        ADMIN_PASSWORD: phase.admin.password,
        // The seed leaves lapsed suspensions; the sweep lifts them soon after start, before the runs.
        SUSPENSION_SWEEP_SECONDS: String(ADMIN_SWEEP_SECONDS),
      };
      progress(`${phase.name}: seeding ${phase.adminUsers.toLocaleString('en')} users with the seed of npm run seed (database ${dbName})`);
      let lastProgress = 0;
      serviceInfo.seed = await seedAdminDatabase({
        root: ROOT,
        databaseUrl: phase.databaseUrl,
        users: phase.adminUsers,
        password,
        cost,
        onProgress: (done, total) => {
          if (Date.now() - lastProgress > 10_000 || done === total) {
            lastProgress = Date.now();
            progress(`${phase.name}: seeded ${done.toLocaleString('en')} / ${total.toLocaleString('en')}`);
          }
        },
      });
      progress(
        `${phase.name}: seeded in ${serviceInfo.seed.seconds.toFixed(1)} s (${Math.round(serviceInfo.seed.rowsPerSecond).toLocaleString('en')} users/s; ` +
          `${serviceInfo.seed.preferences.toLocaleString('en')} preferences, ${serviceInfo.seed.auditEntries.toLocaleString('en')} audit entries)`,
      );
    }

    progress(`${phase.name}: starting the service (database ${dbName})`);
    const service = await startService(phase, opts, shared);
    serviceInfo.nodeEnv = service.nodeEnv;
    serviceInfo.rssAfterReadyMiB = rssMiB(service.pid);

    const references = {};
    for (const kind of new Set(phaseScenarios.map((s) => s.reference).filter(Boolean))) {
      references[kind] = await startReference(kind, phase, shared);
    }

    // The ceiling, while the service idles: before seeding and again after the
    // phase's scenarios. Other work on the machine can only lower it, so the higher one counts.
    const needsCeiling = phaseScenarios.some((s) => Object.values(describeLoads(s, opts)).some((load) => load.ceiling));
    const measureCeiling = async (when) => {
      if (opts.quietWaitSeconds > 0) await waitForQuietMachine({ maxPercent: NOISY_PERCENT, maxMs: opts.quietWaitSeconds * 1000 });
      const measured = await measureBcryptCeiling(cost, opts.ceilingSeconds);
      progress(
        `${phase.name}: bcrypt ceiling ${when}: ${measured.perSecond.toFixed(1)} hashes/s ` +
          `(${measured.concurrency} concurrent bcrypt.hash, ${measured.seconds.toFixed(1)} s, other CPU ${measured.otherCpuPercent?.toFixed(0)}%)`,
      );
      const ceiling = (ceilings[cost] ??= { cost, perSecond: 0, measurements: [] });
      ceiling.measurements.push({ when: phase.adminUsers ? `${when} (${phase.name})` : when, ...measured });
      ceiling.perSecond = Math.max(...ceiling.measurements.map((m) => m.perSecond));
    };

    let users;
    let meTokens;
    let admin;
    if (phase.adminUsers) {
      serviceInfo.sweep = await waitForSweep(phase, service);
      if (needsCeiling) await measureCeiling('before');
      const prepared = await prepareAdminPhase(phase, service, opts);
      ({ users, meTokens, admin } = prepared);
      serviceInfo.setupSeconds = prepared.seconds;
      serviceInfo.deepPage = { page: admin.deepPage.page, seconds: admin.deepPage.seconds, problems: admin.deepPage.problems };
      serviceInfo.rssAfterSeedMiB = rssMiB(service.pid);
    } else {
      if (needsCeiling) await measureCeiling('before');
      progress(`${phase.name}: seeding ${opts.users} users through POST /auth/register`);
      const seedStart = Date.now();
      users = await seedUsers(service, phase, runTag, password, opts.users);
      serviceInfo.seedSeconds = (Date.now() - seedStart) / 1000;
      serviceInfo.rssAfterSeedMiB = rssMiB(service.pid);
      progress(`${phase.name}: seeded in ${serviceInfo.seedSeconds.toFixed(1)} s`);
      meTokens = users.slice(0, ME_TOKEN_USERS).map((user) => user.accessToken);
    }

    for (const scenario of phaseScenarios) {
      const ctx = { opts, runTag, cost, users, meTokens, password, rabbitmqUrl, state: states.get(scenario.id), admin };
      if (scenario.setup) await scenario.setup(ctx);
      const targets = [service];
      if (scenario.reference) targets.push(references[scenario.reference]);
      const loadMeta = describeLoads(scenario, opts);
      const results = [];
      try {
        for (const target of targets) results.push(await runTarget(scenario, ctx, target));
      } finally {
        await scenario.teardown?.(ctx);
      }
      scenarioResults.push({
        id: scenario.id,
        baseId: scenario.baseId,
        adminUsers: scenario.adminUsers,
        title: scenario.title,
        cost,
        loadNames: Object.keys(loadMeta),
        loadMeta,
        targets: results,
        notes: scenario.notes?.(ctx),
      });
    }

    if (phase.adminUsers) {
      // After the runs: the plans of a warm cache, as under load.
      progress(`${phase.name}: EXPLAIN (ANALYZE, BUFFERS) of the admin queries`);
      const captured = await captureAdminPlans({
        root: ROOT,
        databaseUrl: phase.databaseUrl,
        keyset: admin.deepPage.keyset,
        filePrefix: `${reportBase}.explain.`,
        size: phase.adminUsers,
      });
      for (const plan of captured) {
        progress(`${phase.name}: plan ${plan.name}: ${plan.rows} rows in ${plan.executionMs} ms, ${plan.scans.join('; ')}${plan.seqScanOnUsers ? '  <-- Seq Scan on users' : ''}`);
      }
      plans.push(...captured);
    }
    if (needsCeiling) {
      await waitForIdle(service.pid);
      await measureCeiling('after');
    }
    for (const ref of Object.values(references)) await stopChild(ref.entry);
    await stopChild(service.entry, 15_000);
    serviceInfo.exitOnSigterm = service.entry.exit ?? 'still running after SIGKILL';
    serviceInfo.redisKeys = await countRedisKeys(opts.redisUrl, phase.redisPrefix).catch(() => null);
    serviceInfo.log = await summarizeLog(service.logFile);
    await dropDatabase(opts.databaseAdminUrl, dbName);
    created.databases = created.databases.filter((name) => name !== dbName);
  }

  const rows = buildRows(scenarioResults, ceilings);
  const finishedAt = new Date();
  machine.loadAverageAtEnd = os.loadavg();

  // ------------------------------------------------------------ print
  const out = [];
  out.push('');
  out.push(`User service benchmark ${startedAt.toISOString()} — ${machine.cpus} x ${machine.cpuModel}, ${machine.totalMemMiB} MiB, node ${machine.node}`);
  out.push(
    `settings: ${opts.runs} run(s) x ${opts.duration} s (median by req/s) after a ${opts.warmup} s warm-up; ` +
      `${opts.connections} connections (login/register: ${opts.authConnections}); ${opts.users} seeded users per service; ` +
      `quiet wait ${opts.quietWaitSeconds} s; ` +
      `LOG_LEVEL=info; NODE_ENV=${services[0]?.nodeEnv}`,
  );
  const logSummary = (info) =>
    `log: ${info.log.requestLines} request lines, ${Object.entries(info.log.byLevel).map(([k, v]) => `${k} ${v}`).join(', ')}`;
  for (const info of services) {
    if (info.adminUsers) {
      out.push(
        `service admin ${sizeLabel(info.adminUsers)} (cost ${info.cost}): ${info.adminUsers.toLocaleString('en')} users seeded by seed() in ${info.seed.seconds.toFixed(1)} s ` +
          `(${Math.round(info.seed.rowsPerSecond).toLocaleString('en')} users/s, ANALYZE and VACUUM included; ` +
          `${info.seed.preferences.toLocaleString('en')} preferences, ${info.seed.auditEntries.toLocaleString('en')} audit entries); ` +
          `sweep lifted ${info.sweep.lapsedAtStart - info.sweep.left} lapsed suspensions in ${info.sweep.seconds.toFixed(1)} s; ` +
          `page ${info.deepPage.page} reached in ${info.deepPage.seconds.toFixed(1)} s; ` +
          `RSS ${info.rssAfterReadyMiB?.toFixed(0)} MiB after ready, ${info.rssAfterSeedMiB?.toFixed(0)} MiB after setup; ${logSummary(info)}`,
      );
    } else {
      out.push(
        `service cost ${info.cost}: RSS ${info.rssAfterReadyMiB?.toFixed(0)} MiB after ready, ${info.rssAfterSeedMiB?.toFixed(0)} MiB after seeding ` +
          `(${opts.users} users in ${info.seedSeconds?.toFixed(1)} s); ${logSummary(info)}`,
      );
    }
  }
  for (const ceiling of Object.values(ceilings)) {
    const each = ceiling.measurements.map((m) => `${m.when} ${m.perSecond.toFixed(1)}/s (other CPU ${m.otherCpuPercent?.toFixed(0)}%)`).join(', ');
    out.push(
      `bcrypt ceiling cost ${ceiling.cost}: ${ceiling.perSecond.toFixed(1)} hashes/s — ${each}; ` +
        `${ceiling.measurements[0].concurrency} concurrent bcrypt.hash for ${opts.ceilingSeconds} s`,
    );
  }
  out.push('');
  out.push(formatTable(rows));
  out.push('');
  const titled = new Set();
  for (const result of scenarioResults) {
    const id = result.baseId ?? result.id;
    if (titled.has(id)) continue;
    titled.add(id);
    out.push(`  ${id.padEnd(18)} ${result.title}${result.cost && result.loadNames.some((n) => result.loadMeta[n].ceiling) ? ` (BCRYPT_COST ${result.cost})` : ''}`);
  }
  const adminRows = rows.filter((r) => r.adminUsers);
  if (adminRows.length > 0) {
    out.push('', 'admin scenarios by database size (service rows; the last columns: largest size vs smallest):', formatSizeComparison(adminRows));
  }
  if (plans.length > 0) {
    out.push('', `EXPLAIN (ANALYZE, BUFFERS) of the admin queries, run after the scenarios (files ${reportBase}.explain.<size>.<query>.txt):`);
    for (const plan of plans) {
      out.push(
        `  ${sizeLabel(plan.size).padStart(4)} ${plan.name.padEnd(20)} ${String(plan.rows).padStart(3)} rows ${String(plan.executionMs).padStart(9)} ms  ${plan.scans.join('; ')}` +
          `${plan.seqScanOnUsers ? '   <-- SEQ SCAN ON USERS' : ''}${plan.note ? ` (${plan.note})` : ''}`,
      );
    }
  }
  const notes = [];
  const seqScans = plans.filter((plan) => plan.seqScanOnUsers);
  if (seqScans.length > 0) {
    notes.push(`Seq Scan on users in the plan of: ${seqScans.map((plan) => `${plan.name} @${sizeLabel(plan.size)}`).join(', ')}`);
  } else if (plans.length > 0) {
    notes.push('no plan of an admin query has a Seq Scan on users');
  }
  const me = rows.find((r) => r.scenario === 'me' && r.target === 'service');
  const meUnder = rows.find((r) => r.scenario === 'me-under-login' && r.load === 'me');
  if (me && meUnder) notes.push(`GET /users/me p99 while login saturates hashing: ${meUnder.p99} ms (alone: ${me.p99} ms)`);
  for (const result of scenarioResults) {
    if (result.notes) notes.push(`${result.id}: ${JSON.stringify(result.notes)}`);
  }
  for (const info of services) {
    for (const sample of info.log.samples) notes.push(`service ${info.adminUsers ? `admin ${sizeLabel(info.adminUsers)}` : `cost ${info.cost}`} log: ${sample}`);
  }
  if (rows.some((r) => r.noisy)) {
    notes.unshift(`rows marked ! had other work on the machine above ${NOISY_PERCENT}% CPU during their median run: their numbers are not reliable, run again on a quiet machine`);
  }
  if (notes.length) out.push('', ...notes.map((n) => `note: ${n}`));
  out.push(`load average: ${machine.loadAverageAtStart.map((l) => l.toFixed(2)).join(' ')} at start, ${machine.loadAverageAtEnd.map((l) => l.toFixed(2)).join(' ')} at end`);

  const file = `${reportBase}.json`;
  const report = {
    runTag,
    startedAt: startedAt.toISOString(),
    finishedAt: finishedAt.toISOString(),
    machine,
    settings: {
      duration: opts.duration,
      warmup: opts.warmup,
      runs: opts.runs,
      connections: opts.connections,
      authConnections: opts.authConnections,
      users: opts.users,
      meTokenUsers: ME_TOKEN_USERS,
      ceilingSeconds: opts.ceilingSeconds,
      quietWaitSeconds: opts.quietWaitSeconds,
      noisyAbovePercent: NOISY_PERCENT,
      requestTimeoutSeconds: opts.requestTimeoutSeconds,
      pauseBetweenRunsMs: opts.pauseBetweenRunsMs,
      quick: opts.quick,
      only: opts.only,
      adminUsers: opts.adminUsers,
      scenarios: scenarios.map((s) => s.id),
      serviceEnv: {
        NODE_ENV: services[0]?.nodeEnv,
        LOG_LEVEL: 'info',
        RATE_LIMIT_x_LIMIT: 1000000,
        ACCESS_TOKEN_TTL_SECONDS: 86400,
        broker: rabbitmqUrl ? 'own vhost' : 'none',
        extra: Object.keys(process.env).filter((n) => n.startsWith('BENCH_ENV_')),
        adminPhases: { ADMIN_EMAIL: 'bench-admin-<run>@example.com', SUSPENSION_SWEEP_SECONDS: ADMIN_SWEEP_SECONDS },
      },
    },
    ceilings,
    services,
    rows,
    scenarios: scenarioResults,
    adminPlans: plans,
  };
  writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);
  out.push(`results: ${file}`);
  console.log(out.join('\n'));
}

// ---------------------------------------------------------------- entry

let opts;
try {
  opts = readOptions(process.argv.slice(2));
} catch (error) {
  console.error(`bench: ${error.message}`);
  process.exit(2);
}

let interrupted = 0;
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(signal, () => {
    interrupted += 1;
    if (interrupted > 1) {
      killAllChildrenSync();
      process.exit(130);
    }
    progress(`${signal}: stopping and cleaning up (again to force)`);
    cleanUp(opts).finally(() => process.exit(130));
  });
}
process.on('exit', killAllChildrenSync);
for (const event of ['uncaughtException', 'unhandledRejection']) {
  process.on(event, (error) => {
    console.error(`bench failed (${event}): ${error?.stack ?? error}`);
    cleanUp(opts).finally(() => process.exit(1));
  });
}

// Bounded in time as a whole: phases x (seeding + ceilings + every run) + a wide margin.
// Per target: each run plus its quiet wait, pause and drain; per service: start, seeding, ceilings.
// Per admin database: seeding (well under 10 s per 100,000 users here), the sweep, the walk, the plans.
const plannedScenarios = selectScenarios(opts.only, opts.adminUsers);
const plannedAdminSizes = [...new Set(plannedScenarios.map((s) => s.adminUsers).filter(Boolean))];
const estimateSeconds =
  plannedScenarios.length * 2 * ((opts.runs + 1) * (opts.duration + opts.quietWaitSeconds + 8)) +
  2 * (opts.users * 0.5 + 2 * (opts.ceilingSeconds + opts.quietWaitSeconds) + 120) +
  plannedAdminSizes.reduce((sum, size) => sum + size / 10_000 + 2 * (opts.ceilingSeconds + opts.quietWaitSeconds) + 180, 0);
const limitSeconds = Math.max(600, Math.ceil(estimateSeconds * 2));
const watchdog = setTimeout(() => {
  console.error(`bench: still running after ${limitSeconds} s, giving up`);
  cleanUp(opts).finally(() => process.exit(3));
}, limitSeconds * 1000);
watchdog.unref();

main(opts).then(
  async () => {
    const clean = await cleanUp(opts);
    clearTimeout(watchdog);
    process.exit(clean ? 0 : 1);
  },
  async (error) => {
    console.error(`bench failed: ${error.stack ?? error.message}`);
    await cleanUp(opts);
    process.exit(1);
  },
);
