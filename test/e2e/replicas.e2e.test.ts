import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { type AddressInfo, createServer } from 'node:net';
import { join } from 'node:path';

import amqplib from 'amqplib';
import Redis from 'ioredis';
import { Client } from 'pg';

import { migrations } from '../../migrations/index.js';
import type { User, VerifyTokenReply } from '../../src/client-kit/user-service.messages.js';
import { loadConfig } from '../../src/core/config/config.js';
import { auxiliaryQueues } from '../../src/core/messaging/service-queue-server.js';
import { type CollectedEvent, EventCollector } from '../utils/event-collector.js';
import { deleteBrokerObjects, deleteRedisKeys, query, rabbitmqUrl, redisUrl } from '../utils/test-app.js';
import { UserServiceClient } from '../utils/user-service-client.js';

/**
 * Horizontal scaling, proved with the built service (dist/src/main.js, built
 * once by the global setup): three replicas, separate processes, started at the
 * same moment on an empty database, sharing PostgreSQL, Redis and RabbitMQ
 * under names of this run only. Then one replica at a time is killed with
 * SIGKILL in the middle of a burst of registrations: first a follower of the
 * outbox relay, then (after a replacement joined) its leader.
 *
 * Killing a follower leaves every event published exactly once, and the test
 * says so without exception. Killing the leader cannot: the relay marks a batch
 * published only after the broker has confirmed all of it, so rows the broker
 * had routed when the leader died are still unmarked, and its successor
 * publishes them again (the same message: same eventId and messageId). No relay
 * can close that window, since the broker's routing and the database's commit
 * are not one transaction (marking first would lose events instead); it is the
 * contract's at-least-once, with consumers de-duplicating by eventId. So for
 * the leader the test asserts what does hold: nothing lost, nothing foreign, and
 * an event comes twice only if it was unmarked at the instant the leader's
 * session ended (read under the relay lock, before any survivor could take it).
 */

const ROOT = join(__dirname, '..', '..');
/** The relay's advisory lock (src/core/messaging/outbox-relay.ts): whoever holds it publishes the outbox. */
const RELAY_LOCK_ID = 727_001_003;
/** RATE_LIMIT_LOGIN_LIMIT for the run, and the logins beyond it. */
const LOGIN_LIMIT = 5;
const LOGINS_BEYOND = 10;
const BURST = { registrations: 48, concurrency: 6, killAfter: 16 };
const RPCS_AFTER_KILL = 12;

const runId = `${process.pid}-${randomBytes(3).toString('hex')}`;
const names = {
  database: `user_service_replicas_${process.pid}_${randomBytes(4).toString('hex')}`,
  refusedDatabase: `user_service_replicas_refused_${process.pid}_${randomBytes(4).toString('hex')}`,
  serviceQueue: `user-service.replicas-test.${runId}`,
  exchange: `user.events.replicas-test.${runId}`,
  deadLetterQueue: `user-service.replicas-test.${runId}.dead-letter`,
  redisPrefix: `user-service-test:replicas:${runId}`,
};
const admin = { email: `admin-${runId}@example.com`, password: `Bootstrap-${randomBytes(6).toString('hex')}` };

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function waitUntil<T>(what: string, probe: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(100);
  }
}

/** The promise's outcome, or a failure once ms have passed (the timer does not outlive it). */
async function within<T>(ms: number, work: Promise<T>, failure: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(failure)), ms)));
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

function databaseUrl(name: string): string {
  const url = new URL(process.env.TEST_DATABASE_URL!);
  url.pathname = `/${name}`;
  return url.toString();
}

/** An EMPTY database (not the suite's migrated template): the replicas must migrate it themselves. */
async function onAdminDatabase(sql: string): Promise<void> {
  const client = new Client({ connectionString: process.env.TEST_DATABASE_URL });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** What an operator would set on every replica of a production deployment (test signing keys, low bcrypt cost). */
function replicaEnv(database: string, port: number, overrides: Record<string, string> = {}): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH,
    NODE_ENV: 'production',
    PORT: String(port),
    HOST: '127.0.0.1',
    DATABASE_URL: databaseUrl(database),
    REDIS_URL: redisUrl(),
    RABBITMQ_URL: rabbitmqUrl(),
    JWT_PRIVATE_KEY: process.env.TEST_JWT_PRIVATE_KEY,
    JWT_PUBLIC_KEY: process.env.TEST_JWT_PUBLIC_KEY,
    SERVICE_QUEUE: names.serviceQueue,
    EVENTS_EXCHANGE: names.exchange,
    DEAD_LETTER_QUEUE: names.deadLetterQueue,
    REDIS_KEY_PREFIX: names.redisPrefix,
    ADMIN_EMAIL: admin.email,
    ADMIN_PASSWORD: admin.password,
    BCRYPT_COST: '4',
    LOG_LEVEL: 'info',
    // Behind a gateway on the same host: X-Forwarded-For names the client, so each part of the test is its own client.
    TRUST_PROXY: 'loopback',
    RATE_LIMIT_LOGIN_LIMIT: String(LOGIN_LIMIT),
    RATE_LIMIT_LOGIN_WINDOW_SECONDS: '600',
    RATE_LIMIT_REGISTER_LIMIT: '100000',
    ...overrides,
  };
}

interface Answer {
  status: number;
  body: Record<string, unknown>;
  headers: Headers;
}

class Replica {
  readonly child: ChildProcess;
  stdout = '';
  stderr = '';
  /** False from the moment the test decides to kill it: no new request goes to it (as a load balancer would). */
  alive = true;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  constructor(
    readonly name: string,
    readonly port: number,
    env: NodeJS.ProcessEnv,
  ) {
    this.child = spawn(process.execPath, ['dist/src/main.js'], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    this.child.stdout!.on('data', (chunk: Buffer) => (this.stdout += chunk.toString()));
    this.child.stderr!.on('data', (chunk: Buffer) => (this.stderr += chunk.toString()));
    this.exited = new Promise((resolve) => this.child.once('exit', (code, signal) => resolve({ code, signal })));
    void this.exited.then(() => (this.alive = false));
  }

  /** The JSON log lines it wrote so far (production logs are JSON; the ready banner is not). */
  logs(): { msg?: string; context?: string; time?: number }[] {
    return this.stdout
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as { msg?: string });
  }

  messages(prefix: string): string[] {
    return this.logs()
      .map((line) => line.msg ?? '')
      .filter((msg) => msg.startsWith(prefix));
  }

  /** Whether, by what it logged last about the relay, it holds the outbox relay lock. */
  relays(): boolean {
    const states = this.logs().filter((line) => line.context === 'OutboxRelay' && /relays the outbox$/.test(line.msg ?? ''));
    return states.at(-1)?.msg === 'this replica relays the outbox';
  }

  async ready(timeoutMs: number): Promise<void> {
    await waitUntil(
      `${this.name} to answer /health/ready`,
      async () => {
        if (this.child.exitCode !== null) throw new Error(`${this.name} exited with ${this.child.exitCode}: ${this.stderr}${this.stdout}`);
        const response = await fetch(`http://127.0.0.1:${this.port}/api/v1/health/ready`).catch(() => undefined);
        return response?.status === 200;
      },
      timeoutMs,
    );
  }

  async call(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Answer> {
    const response = await fetch(`http://127.0.0.1:${this.port}/api/v1${path}`, {
      method,
      headers: { ...(body === undefined ? {} : { 'Content-Type': 'application/json' }), ...headers },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    return { status: response.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : {}, headers: response.headers };
  }

  async kill(signal: NodeJS.Signals): Promise<void> {
    this.alive = false;
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill(signal);
    await this.exited;
  }

  /** SIGTERM (a clean shutdown), SIGKILL if it has not ended within 15 s. */
  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    this.alive = false;
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 15_000);
    await this.exited;
    clearTimeout(timer);
  }
}

const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });

interface Registration {
  email: string;
  replica: string;
  /** The HTTP status, or 'no answer' when the replica died with the request in flight. */
  outcome: number | 'no answer';
  userId?: string;
  accessToken?: string;
}

/**
 * Registrations spread round-robin over the replicas that are alive, a few at
 * a time. Once `killAfter` have been answered, at the first answer that finds
 * requests in flight to the victim, `kill` runs (not awaited: the burst goes
 * on meanwhile, on the others).
 */
async function registrationBurst(
  replicas: Replica[],
  label: string,
  victim: Replica,
  kill: () => Promise<void>,
): Promise<{ registrations: Registration[]; killed: Promise<void>; killedAfter: number }> {
  const registrations: Registration[] = [];
  let next = 0;
  let answered = 0;
  let unmarkedAtKillToVictim = 0;
  let killed: Promise<void> | undefined;
  let killedAfter = 0;
  const worker = async () => {
    for (let i = next++; i < BURST.registrations; i = next++) {
      const alive = replicas.filter((replica) => replica.alive);
      const replica = alive[i % alive.length]!;
      const email = `replicas-${label}-${i}-${runId}@example.com`;
      const registration: Registration = { email, replica: replica.name, outcome: 'no answer' };
      registrations.push(registration);
      if (replica === victim) unmarkedAtKillToVictim += 1;
      try {
        const answer = await replica.call('POST', '/auth/register', { email, password: `Sturdy-${randomBytes(6).toString('hex')}`, name: `Replica ${i}` });
        registration.outcome = answer.status;
        if (answer.status === 201) {
          registration.userId = (answer.body.user as User).id;
          registration.accessToken = answer.body.accessToken as string;
        }
      } catch {
        // The replica died with this request in flight: the client never learns whether it was applied.
      } finally {
        if (replica === victim) unmarkedAtKillToVictim -= 1;
      }
      answered += 1;
      if (!killed && answered >= BURST.killAfter && unmarkedAtKillToVictim > 0) {
        killedAfter = answered;
        killed = kill();
        // Awaited once the burst is over; meanwhile a failure must not count as unhandled.
        killed.catch(() => undefined);
      }
    }
  };
  await Promise.all(Array.from({ length: BURST.concurrency }, worker));
  return { registrations, killedAfter, killed: killed ?? Promise.reject(new Error('the burst ended before the kill')) };
}

interface OutboxRow {
  event_id: string;
  name: string;
  aggregate_id: string | null;
}

/** Waits until the relay has marked every outbox row published and the collector holds every one of them. */
async function drained(url: string, collector: EventCollector, timeoutMs: number): Promise<OutboxRow[]> {
  return waitUntil(
    'every outbox row to be published and received',
    async () => {
      const rows = await query<OutboxRow & { published: boolean }>(url, 'SELECT event_id, name, aggregate_id, published_at IS NOT NULL AS published FROM outbox_events ORDER BY id');
      const received = new Set(collector.events.map((event) => event.data.eventId));
      return rows.every((row) => row.published && received.has(row.event_id)) && rows;
    },
    timeoutMs,
  );
}

function copiesById(events: CollectedEvent[]): Map<string, CollectedEvent[]> {
  const byId = new Map<string, CollectedEvent[]>();
  for (const event of events) byId.set(event.data.eventId, [...(byId.get(event.data.eventId) ?? []), event]);
  return byId;
}

const createdEventsOf = (events: CollectedEvent[], userId: string) =>
  events.filter((event) => event.pattern === 'user.created' && (event.data.user as User | undefined)?.id === userId);

/** The broker objects of this run that still exist (after the clean-up: none). */
async function brokerObjectsLeft(exchange: string, queues: string[]): Promise<string[]> {
  const connection = await amqplib.connect(rabbitmqUrl()!);
  connection.on('error', () => undefined);
  const left: string[] = [];
  try {
    for (const [kind, name] of [['exchange', exchange] as const, ...queues.map((queue) => ['queue', queue] as const)]) {
      const channel = await connection.createChannel();
      channel.on('error', () => undefined);
      const exists = await (kind === 'exchange' ? channel.checkExchange(name) : channel.checkQueue(name)).then(
        () => true,
        () => false,
      );
      if (exists) left.push(`${kind} ${name}`);
      await channel.close().catch(() => undefined);
    }
  } finally {
    await connection.close();
  }
  return left;
}

async function redisKeys(pattern: string): Promise<number> {
  const redis = new Redis(redisUrl()!);
  try {
    let cursor = '0';
    let count = 0;
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 500);
      count += keys.length;
      cursor = next;
    } while (cursor !== '0');
    return count;
  } finally {
    redis.disconnect();
  }
}

const servicesPresent = Boolean(redisUrl() && rabbitmqUrl());
if (!servicesPresent) {
  console.warn(`\n${'!'.repeat(78)}\n!! replicas.e2e SKIPPED: three replicas need Redis and RabbitMQ, and this machine has ${redisUrl() ? 'no RabbitMQ' : 'no Redis'}\n${'!'.repeat(78)}\n`);
}

(servicesPresent ? describe : describe.skip)(`Three replicas of the built service${servicesPresent ? '' : ' [SKIPPED: needs Redis and RabbitMQ]'} (e2e)`, () => {
  const url = databaseUrl(names.database);
  const replicas: Replica[] = [];
  const summary: string[] = [];
  const startedAt = Date.now();
  let collector: EventCollector;
  /** The service queue and its dead-letter and retry queues, as the replicas declare them. */
  const ownQueues = [
    names.serviceQueue,
    ...auxiliaryQueues(loadConfig({ SERVICE_QUEUE: names.serviceQueue, DEAD_LETTER_QUEUE: names.deadLetterQueue }).messaging),
  ];

  beforeAll(async () => {
    await onAdminDatabase(`CREATE DATABASE ${names.database}`);
    // Bound before any replica starts: it sees every event of the run, the bootstrap admin's included.
    collector = await EventCollector.start(rabbitmqUrl()!, names.exchange);
    const ports = [await freePort(), await freePort(), await freePort()];
    // The same tick, on an empty database.
    for (const [i, port] of ports.entries()) replicas.push(new Replica(`r${i + 1}`, port, replicaEnv(names.database, port)));
    await Promise.all(replicas.map((replica) => replica.ready(60_000)));
    summary.push(`3 replicas (pids ${replicas.map((r) => r.child.pid).join(', ')}) started at once on an empty database, all ready in ${Date.now() - startedAt} ms`);
  }, 90_000);

  afterAll(async () => {
    await Promise.all(replicas.map((replica) => replica.stop()));
    await collector?.stop();
    const rateLimitKeys = await redisKeys(`${names.redisPrefix}:rate-limit:*`);
    // Each step whatever became of the one before: what this run created must not outlive it.
    const failures: string[] = [];
    const attempt = (step: string, work: () => Promise<unknown>) => work().catch((error: Error) => failures.push(`${step}: ${error.message}`));
    await attempt('delete broker objects', () => deleteBrokerObjects(names.exchange, ...ownQueues));
    await attempt('delete Redis keys', () => deleteRedisKeys(`${names.redisPrefix}*`));
    await attempt('drop database', () => onAdminDatabase(`DROP DATABASE IF EXISTS ${names.database} WITH (FORCE)`));
    const left = [...(await brokerObjectsLeft(names.exchange, ownQueues)), ...((await redisKeys(`${names.redisPrefix}*`)) ? ['Redis keys'] : [])];
    summary.push(
      `clean-up: database dropped, exchange and ${ownQueues.length} queues deleted, Redis keys under ${names.redisPrefix} deleted ` +
        `(${rateLimitKeys} of them the shared rate limiter's); left behind: ${left.length ? left.join(', ') : 'nothing'}`,
    );
    summary.push(`wall time ${((Date.now() - startedAt) / 1000).toFixed(1)} s`);
    console.log(`Replica check (${names.database}):\n${summary.map((line) => `  - ${line}`).join('\n')}`);
    expect(failures).toEqual([]);
    expect(left).toEqual([]);
  }, 60_000);

  it('a. the migrations ran exactly once: one replica applied them all, the other two found nothing to do', async () => {
    const expected = migrations.map((migration) => migration.name);
    const rows = await query<{ name: string; runs: number }>(url, 'SELECT name, count(*)::int AS runs FROM migrations GROUP BY name ORDER BY min(id)');
    expect(rows).toEqual(expected.map((name) => ({ name, runs: 1 })));
    // Each replica has logged its readiness probe's request by now, so everything it logged at start is in.
    await waitUntil('start-up logs', () => replicas.every((r) => r.messages('request completed').length > 0), 20_000);
    const appliers = replicas.filter((replica) => replica.messages('applied migrations').length > 0);
    expect(appliers).toHaveLength(1);
    expect(appliers[0]!.messages('applied migrations')).toEqual([`applied migrations: ${expected.join(', ')}`]);
    summary.push(`a. migrations table: ${rows.length} rows, each migration once (of ${expected.length} in the build); applied by ${appliers[0]!.name} alone, the other two logged nothing to apply`);
  });

  it('b. the bootstrap admin exists once, created by one replica, and signs in through each', async () => {
    const [{ rows: count }] = await query<{ rows: number }>(url, 'SELECT count(*)::int AS rows FROM users WHERE email = $1', [admin.email]);
    expect(count).toBe(1);
    const creators = replicas.filter((replica) => replica.messages('created the bootstrap admin account').length > 0);
    expect(creators).toHaveLength(1);
    const ids = new Set<string>();
    for (const replica of replicas) {
      const login = await replica.call('POST', '/auth/login', admin, { 'X-Forwarded-For': '198.51.100.10' });
      expect(login.status).toBe(200);
      expect(login.body.user).toMatchObject({ email: admin.email, role: 'admin', status: 'active', emailVerified: true });
      ids.add((login.body.user as User).id);
    }
    expect(ids.size).toBe(1);
    summary.push(`b. users with ADMIN_EMAIL: ${count} (created by ${creators[0]!.name}); admin login 200 through ${replicas.length}/${replicas.length} replicas, one user id`);
  });

  it('c. a session logged out through replica 1 is refused by replicas 2 and 3 right after the logout answers', async () => {
    const [r1, r2, r3] = replicas as [Replica, Replica, Replica];
    const login = await r1.call('POST', '/auth/login', admin, { 'X-Forwarded-For': '198.51.100.11' });
    expect(login.status).toBe(200);
    const token = login.body.accessToken as string;
    for (const replica of replicas) expect((await replica.call('GET', '/users/me', undefined, bearer(token))).status).toBe(200);

    expect((await r1.call('POST', '/auth/logout', undefined, bearer(token))).status).toBe(204);
    // No pause: the very next requests.
    const after = await Promise.all([r2, r3, r1].map((replica) => replica.call('GET', '/users/me', undefined, bearer(token))));
    expect(after.map((answer) => [answer.status, answer.body.code])).toEqual([
      [401, 'UNAUTHENTICATED'],
      [401, 'UNAUTHENTICATED'],
      [401, 'UNAUTHENTICATED'],
    ]);
    summary.push(`c. logout 204 on r1, then at once: r2 ${after[0]!.status}, r3 ${after[1]!.status}, r1 ${after[2]!.status} (200 on all three before)`);
  });

  it('d. the login rate limit is one limit across the replicas, not one per replica', async () => {
    const [r1] = replicas as [Replica];
    const user = { email: `limited-${runId}@example.com`, password: `Sturdy-${randomBytes(6).toString('hex')}` };
    expect((await r1.call('POST', '/auth/register', { ...user, name: 'Limited' })).status).toBe(201);
    // One client (one address, through the gateway), its logins spread round-robin and sent at once.
    const client = { 'X-Forwarded-For': '203.0.113.77' };
    const answers = await Promise.all(
      Array.from({ length: LOGIN_LIMIT + LOGINS_BEYOND }, async (_, i) => {
        const replica = replicas[i % replicas.length]!;
        return { replica: replica.name, ...(await replica.call('POST', '/auth/login', user, client)) };
      }),
    );
    const passed = answers.filter((answer) => answer.status === 200);
    const limited = answers.filter((answer) => answer.status === 429);
    expect({ passed: passed.length, limited: limited.length }).toEqual({ passed: LOGIN_LIMIT, limited: LOGINS_BEYOND });
    // The shared count lives under this deployment's key prefix, as every key it writes.
    expect(await redisKeys(`${names.redisPrefix}:rate-limit:*`)).toBeGreaterThan(0);
    for (const answer of limited) {
      expect(answer.body.code).toBe('RATE_LIMITED');
      expect(Number(answer.headers.get('retry-after'))).toBeGreaterThan(0);
    }
    const per = (list: typeof answers) => replicas.map((replica) => `${replica.name} ${list.filter((a) => a.replica === replica.name).length}`).join(', ');
    summary.push(
      `d. RATE_LIMIT_LOGIN_LIMIT=${LOGIN_LIMIT}: ${answers.length} logins round-robin (${per(answers)}): ${passed.length} passed (${per(passed)}), ` +
        `${limited.length} got 429 RATE_LIMITED with Retry-After (per-replica limits would have let ${Math.min(answers.length, replicas.length * LOGIN_LIMIT)} through)`,
    );
  });

  /** Each 201 registration: exactly one user.created with its id among the events of this run (after de-duplication by eventId). */
  function expectOneCreatedEventPerRegistration(registrations: Registration[]): void {
    const distinct = [...copiesById(collector.events).values()].map((copies) => copies[0]!);
    for (const registration of registrations.filter((r) => r.outcome === 201)) {
      expect({ user: registration.userId, created: createdEventsOf(distinct, registration.userId!).length }).toEqual({ user: registration.userId, created: 1 });
    }
  }

  async function rpcsAnswered(registrations: Registration[]): Promise<{ answered: number; sent: number }> {
    const client = await UserServiceClient.connect(rabbitmqUrl()!, names.serviceQueue);
    try {
      const created = registrations.filter((r) => r.outcome === 201).slice(-RPCS_AFTER_KILL);
      const replies = await Promise.all([
        ...created.map((r) => client.send<User | null>('users.get', { id: r.userId }, 20_000).then((user) => user?.id === r.userId)),
        ...created.slice(0, 3).map((r) =>
          client.send<VerifyTokenReply>('auth.verify_token', { token: r.accessToken }, 20_000).then((reply) => reply.valid && reply.userId === r.userId),
        ),
      ]);
      expect(replies.every(Boolean)).toBe(true);
      return { answered: replies.filter(Boolean).length, sent: replies.length };
    } finally {
      await client.close();
    }
  }

  /**
   * What the burst amounted to. A registration left without an answer may still have committed (the replica died
   * after the commit): such a user's events must be published like any other's, once.
   */
  async function burstFigures(registrations: Registration[]): Promise<string> {
    const created = registrations.filter((r) => r.outcome === 201).length;
    const unanswered = registrations.filter((r) => r.outcome === 'no answer');
    const committed = await query<{ id: string }>(url, 'SELECT id FROM users WHERE email = ANY($1)', [unanswered.map((r) => r.email)]);
    expectOneCreatedEventPerRegistration(committed.map(({ id }) => ({ email: '', replica: '', outcome: 201, userId: id })));
    return (
      `${registrations.length} registrations round-robin: ${created} × 201, ${unanswered.length} without an answer (in flight to the killed replica), ` +
      `of which ${committed.length} committed anyway (their user.created published too)`
    );
  }

  it('e1/f. a follower of the outbox relay killed (SIGKILL) mid-burst: every event published exactly once; the survivors answer the message patterns', async () => {
    await waitUntil('one outbox relay leader', () => replicas.filter((r) => r.relays()).length === 1, 20_000);
    await drained(url, collector, 30_000);
    const before = collector.events.length;
    const victim = replicas.find((replica) => !replica.relays())!;

    const { registrations, killed, killedAfter } = await registrationBurst(replicas, 'e1', victim, () => victim.kill('SIGKILL'));
    await killed;
    expect(await victim.exited).toEqual({ code: null, signal: 'SIGKILL' });
    expect(registrations.filter((r) => r.outcome !== 201 && r.outcome !== 'no answer').map((r) => r.outcome)).toEqual([]);

    const rows = await drained(url, collector, 30_000);
    const events = collector.events;
    const ids = events.map((event) => event.data.eventId);
    // Exactly once, no exceptions: only the leader publishes, and it lives.
    expect(ids.length - new Set(ids).size).toBe(0);
    expect(new Set(ids)).toEqual(new Set(rows.map((row) => row.event_id)));
    expectOneCreatedEventPerRegistration(registrations);
    const rpcs = await rpcsAnswered(registrations);
    summary.push(
      `e1. follower ${victim.name} SIGKILLed after ${killedAfter} answers: ${await burstFigures(registrations)}; ` +
        `events published ${events.length - before} in this phase, ${ids.length} in all = ${rows.length} outbox rows, duplicates 0, missing 0`,
    );
    summary.push(`f1. after that kill: ${rpcs.answered}/${rpcs.sent} RPCs (users.get, auth.verify_token) answered by the 2 survivors`);

    // Its replacement joins the migrated database: nothing to apply, no second admin.
    const port = await freePort();
    const replacement = new Replica(`${victim.name}'`, port, replicaEnv(names.database, port));
    replicas.splice(replicas.indexOf(victim), 1, replacement);
    await replacement.ready(60_000);
    await waitUntil(`${replacement.name}'s start-up logs`, () => replacement.messages('request completed').length > 0, 20_000);
    expect(replacement.messages('applied migrations')).toEqual([]);
    expect(replacement.messages('created the bootstrap admin account')).toEqual([]);
    summary.push(`replacement ${replacement.name} started on the migrated database: applied nothing, created no admin`);
  }, 120_000);

  it('e2/f. the outbox relay leader killed (SIGKILL) mid-burst: a survivor takes over, nothing is lost, and only an event the dead leader had not marked published may come twice', async () => {
    await waitUntil('one outbox relay leader', () => replicas.filter((r) => r.relays()).length === 1, 20_000);
    await drained(url, collector, 30_000);
    const leader = replicas.find((replica) => replica.relays())!;
    const before = collector.events.length;

    // The test's own session queues for the relay lock behind the leader: PostgreSQL hands the lock to it the moment the
    // leader's session ends (before any survivor's next try), so the outbox is read exactly as the dead leader left it.
    const lock = new Client({ connectionString: url });
    await lock.connect();
    let unmarkedAtKill = new Set<string>();
    let killedAt = 0;
    let takeoverMs = 0;
    let lockHeldMs = 0;
    try {
      const [{ pid }] = (await lock.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows;
      const { registrations, killed, killedAfter } = await registrationBurst(replicas, 'e2', leader, async () => {
        const acquired = lock.query('SELECT pg_advisory_lock($1)', [RELAY_LOCK_ID]);
        await waitUntil(
          'the test to queue for the relay lock',
          async () => (await query<{ granted: boolean }>(url, "SELECT granted FROM pg_locks WHERE locktype = 'advisory' AND pid = $1", [pid]))[0]?.granted === false,
          10_000,
        );
        killedAt = Date.now();
        await leader.kill('SIGKILL');
        await within(20_000, acquired, `${leader.name} is dead and the relay lock is still held: it was not the leader`);
        const lockedAt = Date.now();
        // Outbox rows the dead leader had not marked published: the batch it was sending (which the broker may have
        // routed already) and rows written since. Only these may be published twice.
        const unmarked = await lock.query<{ event_id: string }>('SELECT event_id FROM outbox_events WHERE published_at IS NULL');
        unmarkedAtKill = new Set(unmarked.rows.map((row) => row.event_id));
        await lock.query('SELECT pg_advisory_unlock($1)', [RELAY_LOCK_ID]);
        lockHeldMs = Date.now() - lockedAt;
        await waitUntil('a survivor to take the relay over', () => replicas.some((r) => r !== leader && r.relays()), 30_000);
        takeoverMs = Date.now() - killedAt;
      });
      await killed;
      expect(await leader.exited).toEqual({ code: null, signal: 'SIGKILL' });
      expect(registrations.filter((r) => r.outcome !== 201 && r.outcome !== 'no answer').map((r) => r.outcome)).toEqual([]);

      const rows = await drained(url, collector, 30_000);
      const successors = replicas.filter((r) => r !== leader && r.relays());
      expect(successors).toHaveLength(1);
      const successor = successors[0]!.name;
      const events = collector.events;
      const byId = copiesById(events);
      // Nothing lost, nothing foreign.
      expect(new Set(byId.keys())).toEqual(new Set(rows.map((row) => row.event_id)));
      const duplicated = [...byId.entries()].filter(([, copies]) => copies.length > 1);
      // At-least-once, and no more than the kill explains: a row published twice was unmarked when the leader died,
      // each copy is the same message (same eventId and messageId, same payload), and none came a third time.
      expect(duplicated.filter(([id]) => !unmarkedAtKill.has(id)).map(([id]) => id)).toEqual([]);
      for (const [id, copies] of duplicated) {
        expect(copies).toHaveLength(2);
        for (const copy of copies) expect({ id: copy.messageId, pattern: copy.pattern, data: copy.data }).toEqual({ id, pattern: copies[0]!.pattern, data: copies[0]!.data });
      }
      expectOneCreatedEventPerRegistration(registrations);
      const rpcs = await rpcsAnswered(registrations);
      summary.push(
        `e2. relay leader ${leader.name} SIGKILLed after ${killedAfter} answers: ${await burstFigures(registrations)}; ${successor} took the relay over ${takeoverMs} ms after the kill (the test held the lock ${lockHeldMs} ms of it); ` +
          `${unmarkedAtKill.size} rows unmarked at the kill; events received ${events.length - before} in this phase, ${events.length} in all for ${rows.length} outbox rows: ` +
          `missing 0, published twice ${duplicated.length} (none outside the ${unmarkedAtKill.size} unmarked, each the identical message twice), each 201 has one distinct user.created`,
      );
      summary.push(`f2. after that kill: ${rpcs.answered}/${rpcs.sent} RPCs answered by the 2 survivors`);
    } finally {
      await lock.end().catch(() => undefined);
    }
  }, 120_000);

  it('g. a replica with MIGRATIONS_ON_START=false on an empty database refuses to start, naming the pending migrations on one line', async () => {
    await onAdminDatabase(`CREATE DATABASE ${names.refusedDatabase}`);
    const refusedNames = { SERVICE_QUEUE: `${names.serviceQueue}.refused`, EVENTS_EXCHANGE: `${names.exchange}.refused`, REDIS_KEY_PREFIX: `${names.redisPrefix}:refused` };
    try {
      const port = await freePort();
      const refused = new Replica('r4', port, replicaEnv(names.refusedDatabase, port, { MIGRATIONS_ON_START: 'false', DEAD_LETTER_QUEUE: `${refusedNames.SERVICE_QUEUE}.dead-letter`, ...refusedNames }));
      const exit = await within(45_000, refused.exited, 'r4 still runs').finally(() => refused.kill('SIGKILL'));
      const pending = migrations.map((migration) => migration.name);
      expect(exit).toEqual({ code: 1, signal: null });
      expect(refused.stderr.trim()).toBe(
        `MIGRATIONS_ON_START=false and ${pending.length} migration(s) are pending (${pending.join(', ')}): run them first with node dist/src/cli/migrate.js run`,
      );
      // It changed nothing: not even the migrations table.
      const [{ tables }] = await query<{ tables: number }>(databaseUrl(names.refusedDatabase), "SELECT count(*)::int AS tables FROM pg_tables WHERE schemaname = 'public'");
      expect(tables).toBe(0);
      summary.push(`g. MIGRATIONS_ON_START=false on an empty database: exit ${exit.code}, tables created 0, stderr: ${refused.stderr.trim()}`);
    } finally {
      await onAdminDatabase(`DROP DATABASE IF EXISTS ${names.refusedDatabase} WITH (FORCE)`);
      await deleteBrokerObjects(refusedNames.EVENTS_EXCHANGE, refusedNames.SERVICE_QUEUE);
      await deleteRedisKeys(`${refusedNames.REDIS_KEY_PREFIX}*`);
    }
  }, 60_000);
});
