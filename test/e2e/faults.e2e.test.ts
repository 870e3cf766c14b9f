import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { Agent, type IncomingHttpHeaders, request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import { join } from 'node:path';


import { buildRegistration, registerUser, type RegisteredUser } from '../factories/user.factory.js';
import { EventCollector } from '../utils/event-collector.js';
import { waitFor } from '../utils/outbox.js';
import { TcpProxy } from '../utils/tcp-proxy.js';
import { bootTestApp, createTestDatabase, deleteBrokerObjects, deleteRedisKeys, describeWithRabbitMq, rabbitmqUrl, redisUrl, type TestApp } from '../utils/test-app.js';

/*
 * Fault tests through TCP proxies (issue 11): the shared PostgreSQL and
 * RabbitMQ are never touched, only the proxy in front of them is stopped.
 * Every client request has a 10 s timeout, so a hang fails as a timeout
 * instead of holding the run; no assertion is on speed, only bounds against hangs.
 */

const ROOT = join(__dirname, '..', '..');
const CLIENT_TIMEOUT_MS = 10_000;
/** What a driver, a socket or a stack says; none of it may reach a client. */
const DRIVER_TEXT =
  /ECONN|ETIMEDOUT|EPIPE|EHOSTUNREACH|ENOTFOUND|connection terminated|terminating connection|socket|timeout exceeded when trying to connect|QueryFailedError|TypeORM|node:internal|\bat \S+ \(\S+:\d+:\d+\)|\bat \/\S+:\d+:\d+/i;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

interface Outcome {
  route: string;
  /** performance.now() when the request was handed to the client. */
  startedAt: number;
  /** When its last byte was written to the socket: the request was sent. */
  sentAt?: number;
  endedAt: number;
  answer?: Answer;
  /** ECONNREFUSED, ECONNRESET, TIMEOUT, INCOMPLETE…: no complete HTTP answer. */
  error?: string;
}

interface Call {
  route: string;
  method: string;
  path: string;
  body?: unknown;
  token?: string;
}

/** One HTTP request on the given agent (keep-alive or not), settled with an answer or the reason there is none. */
function send(agent: Agent, port: number, call: Call, timeoutMs = CLIENT_TIMEOUT_MS): Promise<Outcome> {
  return new Promise((resolve) => {
    const startedAt = performance.now();
    let sentAt: number | undefined;
    let settled = false;
    const finish = (result: Pick<Outcome, 'answer' | 'error'>) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve({ route: call.route, startedAt, sentAt, endedAt: performance.now(), ...result });
    };
    const payload = call.body === undefined ? undefined : JSON.stringify(call.body);
    const headers: Record<string, string> = {};
    if (payload !== undefined) headers['content-type'] = 'application/json';
    if (call.token) headers.authorization = `Bearer ${call.token}`;
    const request = httpRequest({ agent, host: '127.0.0.1', port, method: call.method, path: call.path, headers }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => finish({ answer: { status: response.statusCode!, headers: response.headers, body: Buffer.concat(chunks).toString() } }));
      response.on('error', (error: NodeJS.ErrnoException) => finish({ error: error.code ?? error.message }));
      response.on('close', () => {
        if (!response.complete) finish({ error: 'INCOMPLETE' });
      });
    });
    const timer = setTimeout(() => {
      finish({ error: 'TIMEOUT' });
      request.destroy();
    }, timeoutMs);
    request.on('finish', () => (sentAt = performance.now()));
    request.on('error', (error: NodeJS.ErrnoException) => finish({ error: error.code ?? error.message }));
    request.end(payload);
  });
}

const json = (answer: Answer): Record<string, unknown> => {
  try {
    return JSON.parse(answer.body) as Record<string, unknown>;
  } catch {
    return {};
  }
};

/** A proxy in front of the service a URL names (the scheme's port when the URL has none). */
function proxyFor(url: string, defaultPort: number): TcpProxy {
  const { hostname, port } = new URL(url);
  return new TcpProxy(hostname, Number(port) || defaultPort);
}

/** Counts of what broke the contract, keyed by a readable line, so a failure shows every kind at once. */
class Problems {
  readonly counts: Record<string, number> = {};
  add(line: string): void {
    this.counts[line] = (this.counts[line] ?? 0) + 1;
  }
}

/** The 503 of the contract for a dependency down for a moment: problem+json, SERVICE_UNAVAILABLE, Retry-After. */
function checkUnavailable(route: string, answer: Answer, problems: Problems): void {
  const contentType = String(answer.headers['content-type'] ?? '');
  if (!contentType.startsWith('application/problem+json')) problems.add(`${route}: 503 with Content-Type ${contentType || 'none'}`);
  const code = json(answer).code;
  if (code !== 'SERVICE_UNAVAILABLE') problems.add(`${route}: 503 with code ${String(code)}`);
  const retryAfter = answer.headers['retry-after'];
  if (retryAfter === undefined || !/^\d+$/.test(String(retryAfter))) problems.add(`${route}: 503 without a Retry-After of seconds`);
}

function describeOutcome(outcome: Outcome): string {
  if (outcome.error) return outcome.error;
  const code = json(outcome.answer!).code;
  return `${outcome.answer!.status}${typeof code === 'string' ? ` ${code}` : ''}`;
}

/** Figures per route: how many requests, and how many of each answer or failure. */
function tally(outcomes: Outcome[]): Record<string, Record<string, number>> {
  const table: Record<string, Record<string, number>> = {};
  for (const outcome of outcomes) {
    const row = (table[outcome.route] ??= { requests: 0 });
    row.requests! += 1;
    const kind = describeOutcome(outcome);
    row[kind] = (row[kind] ?? 0) + 1;
  }
  return table;
}


describe('Faults (e2e)', () => {
  describe('PostgreSQL cut for 3 s under load', () => {
    it('answers each request with its success or a 503 SERVICE_UNAVAILABLE with Retry-After, never a 500 or a hang, and recovers by itself', async () => {
      const database = await createTestDatabase();
      const proxy = await proxyFor(database.url, 5432).start();
      const agent = new Agent({ keepAlive: true, maxSockets: 8 });
      const plain = new Agent({ keepAlive: false });
      let t: TestApp | undefined;
      try {
        t = await bootTestApp({ databaseUrl: proxy.url(database.url) });
        await t.app.listen({ port: 0, host: '127.0.0.1' });
        const port = (t.app.getHttpServer().address() as { port: number }).port;
        // Apart, so the sign-ins (which end the oldest session past MAX_SESSIONS_PER_USER) never revoke a token the loops use.
        const bearers: RegisteredUser[] = [];
        const signers: RegisteredUser[] = [];
        for (let i = 0; i < 8; i += 1) {
          bearers.push(await registerUser(t.http));
          signers.push(await registerUser(t.http));
        }
        await waitFor(async () => (await send(plain, port, { route: 'ready', method: 'GET', path: '/api/v1/health/ready' })).answer?.status === 200);

        // GET /users/me reads the profile from the cache and the revocation mark from Redis: PostgreSQL
        // only once the revocation sync has failed for 2.5 s. The other three reach PostgreSQL every time.
        const steps = (i: number): Call[] => [
          { route: 'GET /users/me', method: 'GET', path: '/api/v1/users/me', token: bearers[i]!.accessToken },
          { route: 'PATCH /users/me/preferences', method: 'PATCH', path: '/api/v1/users/me/preferences', token: bearers[i]!.accessToken, body: { marketingEmails: i % 2 === 0 } },
          { route: 'GET /users/me/export', method: 'GET', path: '/api/v1/users/me/export', token: bearers[i]!.accessToken },
          { route: 'POST /auth/login', method: 'POST', path: '/api/v1/auth/login', body: { email: signers[i]!.email, password: signers[i]!.password } },
        ];
        const SUCCESS: Record<string, number> = { 'GET /users/me': 200, 'PATCH /users/me/preferences': 200, 'GET /users/me/export': 200, 'POST /auth/login': 200 };
        const isSuccess = (outcome: Outcome) => outcome.answer?.status === SUCCESS[outcome.route];

        const outcomes: Outcome[] = [];
        let stop = false;
        let restoredAt = Infinity;
        // Successes in a row, per loop, among requests started after the proxy came back.
        const streaks = new Array<number>(8).fill(0);
        const loops = Array.from({ length: 8 }, async (_, i) => {
          for (let n = 0; !stop; n += 1) {
            const calls = steps(i);
            const outcome = await send(agent, port, calls[n % calls.length]!);
            outcomes.push(outcome);
            if (outcome.startedAt >= restoredAt) streaks[i] = isSuccess(outcome) ? streaks[i]! + 1 : 0;
          }
        });

        await sleep(1_500);
        const cutAt = performance.now();
        await proxy.stop();
        await sleep(1_000);
        const readyEarly = await send(plain, port, { route: 'GET /health/ready (cut, 1 s)', method: 'GET', path: '/api/v1/health/ready' });
        await sleep(1_700);
        // Past the revocation sync's 2.5 s: GET /users/me now needs PostgreSQL too.
        const readyLate = await send(plain, port, { route: 'GET /health/ready (cut, 2.7 s)', method: 'GET', path: '/api/v1/health/ready' });
        await sleep(Math.max(0, cutAt + 3_000 - performance.now()));
        await proxy.start();
        restoredAt = performance.now();
        // Recovered: every loop has gone twice through its four routes with nothing but successes.
        const recovered = await waitFor(async () => streaks.every((streak) => streak >= 8), 15_000).then(
          () => true,
          () => false,
        );
        stop = true;
        await Promise.all(loops);
        const readyAfter = await send(plain, port, { route: 'GET /health/ready (after)', method: 'GET', path: '/api/v1/health/ready' });

        const problems = new Problems();
        for (const outcome of outcomes) {
          if (outcome.error) {
            problems.add(`${outcome.route}: ${outcome.error}`);
            continue;
          }
          const answer = outcome.answer!;
          if (DRIVER_TEXT.test(answer.body)) problems.add(`${outcome.route}: ${answer.status} body with driver text: ${answer.body.slice(0, 160)}`);
          if (isSuccess(outcome)) continue;
          if (answer.status === 503) checkUnavailable(outcome.route, answer, problems);
          else problems.add(`${outcome.route}: ${describeOutcome(outcome)}`);
        }
        for (const ready of [readyEarly, readyLate]) {
          if (!ready.answer) {
            problems.add(`${ready.route}: ${ready.error}`);
            continue;
          }
          if (ready.answer.status !== 503) problems.add(`${ready.route}: ${ready.answer.status}, not 503`);
          const down = (json(ready.answer).error as Record<string, { status?: string }> | undefined)?.database;
          if (down?.status !== 'down') problems.add(`${ready.route}: the body does not name the database as down: ${ready.answer.body.slice(0, 200)}`);
          if (DRIVER_TEXT.test(ready.answer.body)) problems.add(`${ready.route}: body with driver text: ${ready.answer.body.slice(0, 200)}`);
        }
        if (readyAfter.answer?.status !== 200) problems.add(`${readyAfter.route}: ${describeOutcome(readyAfter)}, not 200`);
        if (!recovered) problems.add('not recovered within 15 s of the proxy coming back: some loop never got 8 successes in a row');

        const failures = outcomes.filter((outcome) => !isSuccess(outcome));
        const lastFailureEnd = Math.max(restoredAt, ...failures.map((outcome) => outcome.endedAt));
        const lastFailureAfterRestore = failures.filter((outcome) => outcome.endedAt >= restoredAt).length;
        console.log(
          [
            `PostgreSQL cut: proxy stopped for ${Math.round(restoredAt - cutAt)} ms under 8 loops`,
            `requests ${outcomes.length}, successes ${outcomes.filter(isSuccess).length}, ` +
              `503 ${outcomes.filter((o) => o.answer?.status === 503).length}, ` +
              `other ${outcomes.filter((o) => o.answer && !isSuccess(o) && o.answer.status !== 503).length}, no answer ${outcomes.filter((o) => o.error).length}`,
            `per route: ${JSON.stringify(tally(outcomes), null, 1)}`,
            `readiness during the cut: ${describeOutcome(readyEarly)} ${readyEarly.answer?.body ?? ''} | ${describeOutcome(readyLate)} ${readyLate.answer?.body ?? ''}`,
            `readiness after: ${describeOutcome(readyAfter)}`,
            `recovery: last failure ended ${Math.round(lastFailureEnd - restoredAt)} ms after the proxy came back ` +
              `(${lastFailureAfterRestore} failures after it); recovered: ${recovered}`,
          ].join('\n'),
        );
        expect(problems.counts).toEqual({});
        // Generous: a bound against a service that does not come back, not a speed requirement.
        expect(lastFailureEnd - restoredAt).toBeLessThan(10_000);
      } finally {
        await proxy.start();
        await t?.close();
        await proxy.stop();
        agent.destroy();
        plain.destroy();
        await database.drop();
      }
    }, 45_000);
  });

  describeWithRabbitMq('RabbitMQ cut while users register', () => {
    it('publishes every registration of before, during and after the cut: one user.created per user, none lost', async () => {
      const proxy = await proxyFor(rabbitmqUrl()!, 5672).start();
      let t: TestApp | undefined;
      let collector: EventCollector | undefined;
      try {
        t = await bootTestApp({ env: { RABBITMQ_URL: proxy.url(rabbitmqUrl()!) } });
        const app = t;
        collector = await EventCollector.start(rabbitmqUrl()!, app.config.messaging.eventsExchange);
        await waitFor(async () => (await app.http().get('/api/v1/health/ready')).status === 200, 15_000);

        const ids: string[] = [];
        const statuses: number[] = [];
        const register = async (count: number) => {
          // Four at a time, as clients would.
          for (let i = 0; i < count; i += 4) {
            const batch = Array.from({ length: Math.min(4, count - i) }, () => app.http().post('/api/v1/auth/register').send(buildRegistration()).timeout(CLIENT_TIMEOUT_MS));
            for (const response of await Promise.all(batch)) {
              statuses.push(response.status);
              if (response.status === 201) ids.push(response.body.user.id as string);
            }
          }
        };

        await register(15);
        await proxy.stop();
        const cutAt = performance.now();
        await register(20);
        const registeredDuringCut = ids.length - 15;
        await sleep(Math.max(0, cutAt + 3_000 - performance.now()));
        await proxy.start();
        const restoredAt = performance.now();
        await register(15);

        expect(statuses.filter((status) => status !== 201)).toEqual([]);
        const created = () => collector!.events.filter((event) => event.pattern === 'user.created');
        const userOf = (event: { data: Record<string, unknown> }) => (event.data.user as { id: string }).id;
        await collector
          .waitFor(() => {
            const seen = new Set(created().map(userOf));
            return ids.every((id) => seen.has(id));
          }, 30_000)
          .catch(() => undefined);
        const allArrivedAt = performance.now();
        // Time for a late duplicate to show up.
        await sleep(1_000);

        const deliveries = new Map<string, { eventIds: Set<string>; count: number }>(ids.map((id) => [id, { eventIds: new Set(), count: 0 }]));
        for (const event of created()) {
          const entry = deliveries.get(userOf(event));
          if (!entry) continue;
          entry.count += 1;
          entry.eventIds.add(event.data.eventId);
          expect(event.messageId).toBe(event.data.eventId);
        }
        const missing = ids.filter((id) => deliveries.get(id)!.count === 0);
        const twoEvents = ids.filter((id) => deliveries.get(id)!.eventIds.size > 1);
        const redelivered = ids.filter((id) => deliveries.get(id)!.count > 1 && deliveries.get(id)!.eventIds.size === 1);
        console.log(
          `RabbitMQ cut: ${ids.length} users registered (${registeredDuringCut} while the proxy was stopped for ${Math.round(restoredAt - cutAt)} ms); ` +
            `user.created received for ${ids.length - missing.length}, all within ${Math.round(allArrivedAt - restoredAt)} ms of the proxy coming back; ` +
            `users with two events ${twoEvents.length}, redelivered (same eventId) ${redelivered.length}`,
        );
        expect(missing).toEqual([]);
        // One event per user: recorded once, whatever the broker did.
        expect(twoEvents).toEqual([]);
        // The contract's delivery is at least once: a message the broker routed but whose confirm the cut
        // swallowed is sent again with its eventId, for consumers to drop. Anything else is delivered once.
        expect(ids.filter((id) => deliveries.get(id)!.count !== 1 && !redelivered.includes(id))).toEqual([]);
      } finally {
        await proxy.start();
        await collector?.stop();
        await t?.close();
        await proxy.stop();
      }
    }, 60_000);
  });

  describeWithRabbitMq('SIGTERM under HTTP load', () => {
    it('answers every request sent before the signal, refuses connections once closed, and exits 0 within the grace time', async () => {
      const database = await createTestDatabase();
      const suffix = randomBytes(4).toString('hex');
      const names = { EVENTS_EXCHANGE: `user.events.test.${suffix}`, SERVICE_QUEUE: `user-service.test.${suffix}` };
      const redisPrefix = `user-service-test:${process.pid}:${suffix}`;
      const port = 20_000 + Math.floor(Math.random() * 20_000);
      const child: ChildProcess = spawn(process.execPath, ['dist/src/main.js'], {
        cwd: ROOT,
        env: {
          PATH: process.env.PATH,
          NODE_ENV: 'test',
          HOST: '127.0.0.1',
          PORT: String(port),
          DATABASE_URL: database.url,
          RABBITMQ_URL: rabbitmqUrl(),
          REDIS_URL: redisUrl(),
          REDIS_KEY_PREFIX: redisPrefix,
          ...names,
          JWT_PRIVATE_KEY: process.env.TEST_JWT_PRIVATE_KEY,
          JWT_PUBLIC_KEY: process.env.TEST_JWT_PUBLIC_KEY,
          BCRYPT_COST: '4',
          LOG_LEVEL: 'silent',
          RATE_LIMIT_REGISTER_LIMIT: '1000',
          RATE_LIMIT_LOGIN_LIMIT: '100000',
          LOGIN_LOCKOUT_FAILURES: '10000',
          LOGIN_ACCOUNT_LOCKOUT_FAILURES: '10000',
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let output = '';
      const keep = (chunk: Buffer) => (output = (output + chunk.toString()).slice(-4_000));
      child.stdout!.on('data', keep);
      child.stderr!.on('data', keep);
      const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>((resolve) =>
        child.once('exit', (code, signal) => resolve({ code, signal, at: performance.now() })),
      );
      const agent = new Agent({ keepAlive: true, maxSockets: 20 });
      const plain = new Agent({ keepAlive: false });
      try {
        await waitFor(async () => (await send(plain, port, { route: 'ready', method: 'GET', path: '/api/v1/health/ready' }, 2_000)).answer?.status === 200, 30_000).catch(
          (error: unknown) => {
            throw new Error(`the service did not become ready: ${String(error)}\n${output}`);
          },
        );
        const bearers: { token: string }[] = [];
        const signers: { email: string; password: string }[] = [];
        for (let i = 0; i < 20; i += 1) {
          const body = buildRegistration();
          const registered = await send(plain, port, { route: 'register', method: 'POST', path: '/api/v1/auth/register', body });
          expect(registered.answer?.status).toBe(201);
          if (i % 2 === 0) bearers.push({ token: json(registered.answer!).accessToken as string });
          else signers.push({ email: body.email, password: body.password });
        }

        const SUCCESS: Record<string, number> = { 'GET /health/live': 200, 'POST /auth/login': 200, 'GET /users/me': 200 };
        const steps = (i: number): Call[] => [
          { route: 'GET /health/live', method: 'GET', path: '/api/v1/health/live' },
          { route: 'POST /auth/login', method: 'POST', path: '/api/v1/auth/login', body: signers[i % signers.length] },
          { route: 'GET /users/me', method: 'GET', path: '/api/v1/users/me', token: bearers[i % bearers.length]!.token },
        ];
        const outcomes: Outcome[] = [];
        let stop = false;
        // Each loop ends once the server refuses it: nothing listens any more.
        const loops = Array.from({ length: 20 }, async (_, i) => {
          for (let n = i; !stop; n += 1) {
            const calls = steps(i);
            const outcome = await send(agent, port, calls[n % calls.length]!);
            outcomes.push(outcome);
            if (outcome.error === 'ECONNREFUSED') return;
          }
        });
        // Fresh connections every 20 ms through the shutdown: accepted, then refused, never left hanging.
        const probes: { at: number; result: string }[] = [];
        let probing = true;
        const prober = (async () => {
          while (probing) {
            const at = performance.now();
            const result = await new Promise<string>((resolve) => {
              const socket = connect({ host: '127.0.0.1', port });
              const done = (value: string) => {
                socket.destroy();
                resolve(value);
              };
              socket.setTimeout(3_000, () => done('TIMEOUT'));
              socket.once('connect', () => done('connected'));
              socket.once('error', (error: NodeJS.ErrnoException) => done(error.code ?? error.message));
            });
            probes.push({ at, result });
            await sleep(20);
          }
        })();

        await sleep(1_000);
        await waitFor(async () => outcomes.length >= 200, 10_000);
        const signalAt = performance.now();
        child.kill('SIGTERM');
        // The chart's 30 s terminationGracePeriodSeconds less its 5 s preStop sleep, which comes first.
        const exit = await Promise.race([exited, sleep(25_000).then(() => undefined)]);
        const exitedAt = exit?.at ?? performance.now();
        // A few probes after the exit, and time for the loops to meet the closed port.
        await sleep(300);
        probing = false;
        stop = true;
        await Promise.all([prober, ...loops]);

        const problems = new Problems();
        const sentBefore = outcomes.filter((outcome) => outcome.sentAt !== undefined && outcome.sentAt < signalAt);
        const inFlight = sentBefore.filter((outcome) => outcome.endedAt >= signalAt);
        for (const outcome of sentBefore) {
          if (outcome.error) problems.add(`sent before the signal, no complete answer: ${outcome.route} ${outcome.error}`);
          else if (!SUCCESS[outcome.route] || (outcome.answer!.status !== SUCCESS[outcome.route] && outcome.answer!.status !== 503)) {
            problems.add(`sent before the signal: ${outcome.route} ${describeOutcome(outcome)}`);
          }
        }
        for (const outcome of outcomes) if (outcome.error === 'TIMEOUT') problems.add(`hung (${CLIENT_TIMEOUT_MS} ms): ${outcome.route}`);
        for (const probe of probes) if (probe.result !== 'connected' && probe.result !== 'ECONNREFUSED') problems.add(`connection attempt: ${probe.result}`);
        const firstRefused = probes.findIndex((probe) => probe.result === 'ECONNREFUSED');
        if (firstRefused === -1) problems.add('no connection attempt was refused, not even after the exit');
        else if (probes.slice(firstRefused).some((probe) => probe.result !== 'ECONNREFUSED')) problems.add('a connection was accepted again after one was refused');
        if (!exit) problems.add(`no exit within 25 s of SIGTERM`);
        else if (exit.code !== 0 || exit.signal !== null) problems.add(`exit code ${exit.code}, signal ${exit.signal}`);

        const afterSignal = outcomes.filter((outcome) => outcome.sentAt === undefined || outcome.sentAt >= signalAt);
        // Not the contract's concern, but worth seeing: requests written after the signal on a kept-alive
        // connection that the server closed meanwhile (the keep-alive race the chart's preStop sleep avoids).
        const resetAfterWrite = afterSignal.filter((outcome) => outcome.sentAt !== undefined && outcome.error).length;
        const refusedAt = firstRefused === -1 ? undefined : probes[firstRefused]!.at;
        console.log(
          [
            `SIGTERM under load: ${outcomes.length} requests from 20 keep-alive loops; ${sentBefore.length} sent before the signal, ` +
              `${inFlight.length} of them still in flight at it`,
            `sent before the signal: ${JSON.stringify(tally(sentBefore))}`,
            `after the signal: ${JSON.stringify(tally(afterSignal))} (${resetAfterWrite} written, then cut without an answer)`,
            `connection probes: ${probes.filter((p) => p.at >= signalAt && p.result === 'connected').length} accepted after the signal, ` +
              `first refused ${refusedAt === undefined ? 'never' : `${Math.round(refusedAt - signalAt)} ms after it`}; ` +
              `exit ${exit ? `code ${exit.code} signal ${exit.signal}` : 'none'} ${Math.round(exitedAt - signalAt)} ms after SIGTERM`,
          ].join('\n'),
        );
        if (Object.keys(problems.counts).length) console.log(`child output (tail):\n${output}`);
        expect(problems.counts).toEqual({});
        expect(inFlight.length).toBeGreaterThan(0);
      } finally {
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
        await exited;
        agent.destroy();
        plain.destroy();
        await deleteBrokerObjects(names.EVENTS_EXCHANGE, names.SERVICE_QUEUE);
        if (redisUrl()) await deleteRedisKeys(`${redisPrefix}*`);
        await database.drop();
      }
    }, 60_000);
  });
});
