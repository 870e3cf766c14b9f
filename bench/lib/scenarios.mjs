// The scenarios, in the order they run. Adding one = adding an object here.
//
// A scenario is:
//   id         name for --only (a name that is no id selects the ids starting with "name-"
//              or "name@": "login" = login-12 and login-10, "admin" = every admin scenario,
//              "admin-list" = admin-list@1k and admin-list@1M)
//   title      what the table shows
//   cost       BCRYPT_COST of the service instance it runs against (each cost is
//              its own service process and database, seeded with its own users)
//   adminUsers only the admin scenarios (ADMIN_SCENARIOS below, one copy per
//              --admin-users size): the database of that many users, seeded by
//              `npm run seed`'s seed(), that they run against, with its own service
//   reference  'health' | 'user' | 'rmq-echo' | undefined: the reference server it is also run against
//   setup(ctx)                 optional, once before its first run
//   loads(ctx, target)         the autocannon loads of one run, run concurrently;
//                              the first is the primary one (its req/s picks the median run).
//                              Each: { name, url, connections, options, ceiling? }; ceiling: true
//                              compares its req/s with the bcrypt ceiling at `cost`.
//   afterRun(ctx, target)      optional, right after every run (warm-up included)
//   notes(ctx)                 optional, extra facts for the report (object)
//   run(ctx, target, duration) instead of loads, for a load that is not HTTP: returns what
//                              runLoads() returns ({ process, loads: { name: summary } });
//                              loadMeta(opts) then names its loads ({ name: { connections, ceiling } })
//   needsBroker                true: left out (with a line saying so) when the run has no RabbitMQ vhost
//   teardown(ctx)              optional, once after its last run
//
// ctx: { opts, runTag, cost, users, meTokens, password, rabbitmqUrl, state } (state: a per-scenario scratch object);
//      admin scenarios also get ctx.admin: { token, size, deepPage: { page, path, keyset } }
// target: { kind: 'service' | 'reference', label, url, pid } (the rmq-echo reference also has its queue)

import { fileURLToPath } from 'node:url';

import { ADMIN_PAGE_SIZE, DEEP_PAGE, EMAIL_PREFIX, NAME_PREFIX, sizeLabel } from './admin.mjs';
import { connectClient, loadClientKit, runOutboxLatency, runRpcLoad } from './rmq.mjs';

export const API = '/api/v1';

const JSON_HEADERS = { 'content-type': 'application/json' };

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
/** Requests kept outstanding by the RabbitMQ pattern loads: twice the service's prefetch (MESSAGE_PREFETCH, 32), so its queue never runs dry. */
const RMQ_IN_FLIGHT = 64;
/** How long a pattern request may wait for its answer before it counts as a failure. */
const RMQ_TIMEOUT_MS = 10_000;
/** How long after the registrations stop the outbox scenario waits for the last events. */
const OUTBOX_SETTLE_MS = 10_000;
/** Registrations per second of outbox-latency: well below what this machine sustains at cost 4 (outbox-burst). */
const OUTBOX_PACED_RATE = 50;

let kitLoading;
const clientKit = () => (kitLoading ??= loadClientKit(ROOT));

/**
 * One run of a request/response pattern against the service's queue or the
 * echo reference's (target.queue); the ClientProxy of each queue is connected
 * once and kept in ctx.state for the scenario's runs.
 */
async function rpcRun(ctx, target, duration, { load, pattern, payloads, check }) {
  const kit = await clientKit();
  const queue = target.queue ?? kit.USER_SERVICE_QUEUE;
  ctx.state.clients ??= new Map();
  if (!ctx.state.clients.has(queue)) ctx.state.clients.set(queue, await connectClient(kit, ctx.rabbitmqUrl, queue));
  const { process, summary } = await runRpcLoad({
    client: ctx.state.clients.get(queue),
    pattern,
    payloads,
    // The echo answers with the payload itself.
    check: target.kind === 'reference' ? (reply, payload) => JSON.stringify(reply) === JSON.stringify(payload) : check,
    inFlight: RMQ_IN_FLIGHT,
    duration,
    timeoutMs: RMQ_TIMEOUT_MS,
    pid: target.pid,
  });
  return { process, loads: { [load]: summary } };
}

/**
 * The outbox loads: commit-to-broker is the event's arrival at our consumer
 * minus its occurredAt (stamped in the registering transaction, before its
 * outbox INSERT and COMMIT: an upper bound), after-201 its arrival minus the
 * client's receipt of the 201 (sent after the commit: close to a lower bound),
 * register the HTTP side. Their req/s are events (or registrations) per second.
 */
function outboxLoadMeta(connections) {
  return {
    'commit-to-broker': { connections, ceiling: false },
    'after-201': { connections, ceiling: false },
    register: { connections, ceiling: false },
  };
}

async function outboxRun(ctx, target, duration, { tag, ...pace }) {
  const kit = await clientKit();
  ctx.state.registered ??= 0;
  return runOutboxLatency({
    url: `${target.url}${API}`,
    rabbitmqUrl: ctx.rabbitmqUrl,
    exchange: kit.USER_EVENTS_EXCHANGE,
    emailOf: () => `bench-${ctx.runTag}-${tag}-${ctx.state.registered++}@example.com`,
    password: ctx.password,
    ...pace,
    duration,
    settleMs: OUTBOX_SETTLE_MS,
    pid: target.pid,
  });
}

async function closeClients(ctx) {
  for (const client of ctx.state.clients?.values() ?? []) await client.close();
  ctx.state.clients?.clear();
}

/** GET /users/me with the Bearer tokens of a few seeded users, in turn (prebuilt requests: cheap for the generator). */
function meLoad(ctx, target) {
  return {
    name: 'me',
    url: `${target.url}${API}/users/me`,
    connections: ctx.opts.connections,
    options: {
      requests: ctx.meTokens.map((token) => ({ method: 'GET', path: `${API}/users/me`, headers: { authorization: `Bearer ${token}` } })),
    },
  };
}

/** GET /users/me/preferences, like meLoad. */
function preferencesLoad(ctx, target) {
  const path = `${API}/users/me/preferences`;
  return {
    name: 'preferences',
    url: `${target.url}${path}`,
    connections: ctx.opts.connections,
    options: { requests: ctx.meTokens.map((token) => ({ method: 'GET', path, headers: { authorization: `Bearer ${token}` } })) },
  };
}

/**
 * PATCH /users/me/preferences as the /users/me users in turn, flipping
 * marketingEmails: every request is a real change (transaction, outbox event,
 * cache invalidation).
 */
function preferencesUpdateLoad(ctx, target) {
  const path = `${API}/users/me/preferences`;
  let next = 0;
  return {
    name: 'preferences-update',
    url: `${target.url}${path}`,
    connections: ctx.opts.connections,
    options: {
      requests: [
        {
          method: 'PATCH',
          path,
          setupRequest(req) {
            const n = next++;
            req.headers = { ...JSON_HEADERS, authorization: `Bearer ${ctx.meTokens[n % ctx.meTokens.length]}` };
            req.body = JSON.stringify({ marketingEmails: Math.floor(n / ctx.meTokens.length) % 2 === 0 });
            return req;
          },
        },
      ],
    },
  };
}

/** POST /auth/login as the seeded users in turn (right password: every request is a full bcrypt compare). */
function loginLoad(ctx, target) {
  const bodies = ctx.users.map((user) => JSON.stringify({ email: user.email, password: user.password }));
  let next = 0;
  return {
    name: 'login',
    ceiling: true,
    url: `${target.url}${API}/auth/login`,
    connections: ctx.opts.authConnections,
    options: {
      requests: [
        {
          method: 'POST',
          path: `${API}/auth/login`,
          headers: JSON_HEADERS,
          setupRequest(req) {
            req.body = bodies[next++ % bodies.length];
            return req;
          },
        },
      ],
    },
  };
}

/** POST /auth/register, a new email every request (unique across runs and costs). */
function registerLoad(ctx, target) {
  const state = ctx.state;
  state.registered ??= 0;
  return {
    name: 'register',
    ceiling: true,
    url: `${target.url}${API}/auth/register`,
    connections: ctx.opts.authConnections,
    options: {
      requests: [
        {
          method: 'POST',
          path: `${API}/auth/register`,
          headers: JSON_HEADERS,
          setupRequest(req) {
            const n = state.registered++;
            req.body = JSON.stringify({
              email: `bench-${ctx.runTag}-c${ctx.cost}-r${n}@example.com`,
              password: ctx.password,
              name: `Bench Load ${n}`,
            });
            return req;
          },
        },
      ],
    },
  };
}

/**
 * POST /auth/refresh where every request spends a fresh token: setupRequest
 * takes one from the pool (one token per session chain, so no two requests
 * ever race on a session), onResponse puts the returned one back. A request
 * still in flight when a run stops has spent its token unseen; right after
 * the run it is presented once more, within the grace window, and gets the
 * same answer again (the contract's replay), so the chain goes on.
 */
function refreshLoad(ctx, target) {
  const state = ctx.state;
  return {
    name: 'refresh',
    url: `${target.url}${API}/auth/refresh`,
    connections: ctx.opts.connections,
    options: {
      requests: [
        {
          method: 'POST',
          path: `${API}/auth/refresh`,
          headers: JSON_HEADERS,
          setupRequest(req, context) {
            const token = state.pool.shift();
            context.token = token;
            if (token === undefined) {
              // Only if chains were lost: the request is sent and fails (counted as an error).
              state.poolEmpty += 1;
              req.body = JSON.stringify({ refreshToken: 'bench-pool-empty' });
              return req;
            }
            state.inFlight.add(token);
            req.body = JSON.stringify({ refreshToken: token });
            return req;
          },
          onResponse(status, body, context) {
            const token = context.token;
            if (token === undefined) return;
            context.token = undefined;
            state.inFlight.delete(token);
            if (status === 200) {
              try {
                const next = JSON.parse(body).refreshToken;
                if (typeof next === 'string') {
                  state.pool.push(next);
                  state.rotated += 1;
                  return;
                }
              } catch {
                /* counted below */
              }
            }
            state.lost += 1;
            state.lostByStatus[status] = (state.lostByStatus[status] ?? 0) + 1;
          },
        },
      ],
    },
  };
}

async function recoverInFlight(ctx, target) {
  const state = ctx.state;
  const tokens = [...state.inFlight];
  state.inFlight.clear();
  let index = 0;
  const worker = async () => {
    while (index < tokens.length) {
      const token = tokens[index++];
      try {
        const response = await fetch(`${target.url}${API}/auth/refresh`, {
          method: 'POST',
          headers: JSON_HEADERS,
          body: JSON.stringify({ refreshToken: token }),
          signal: AbortSignal.timeout(5_000),
        });
        const body = await response.text();
        const next = response.status === 200 ? JSON.parse(body).refreshToken : undefined;
        if (typeof next === 'string') {
          state.pool.push(next);
          state.recovered += 1;
        } else {
          state.lostInRecovery[response.status] = (state.lostInRecovery[response.status] ?? 0) + 1;
        }
      } catch (error) {
        state.lostInRecovery[error.name] = (state.lostInRecovery[error.name] ?? 0) + 1;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(10, tokens.length) }, worker));
}

export const SCENARIOS = [
  {
    id: 'health',
    title: 'GET /health/live',
    cost: 12,
    reference: 'health',
    loads: (ctx, target) => [
      { name: 'live', url: `${target.url}${API}/health/live`, connections: ctx.opts.connections, options: {} },
    ],
  },
  {
    id: 'me',
    title: 'GET /users/me',
    cost: 12,
    reference: 'user',
    loads: (ctx, target) => [meLoad(ctx, target)],
  },
  {
    id: 'preferences',
    title: 'GET /users/me/preferences',
    cost: 12,
    reference: 'user',
    loads: (ctx, target) => [preferencesLoad(ctx, target)],
  },
  {
    id: 'preferences-update',
    title: 'PATCH /users/me/preferences',
    cost: 12,
    loads: (ctx, target) => [preferencesUpdateLoad(ctx, target)],
  },
  {
    id: 'refresh',
    title: 'POST /auth/refresh',
    cost: 12,
    setup(ctx) {
      // Every seeded user except the /users/me ones is one session chain.
      Object.assign(ctx.state, {
        pool: ctx.users.slice(ctx.meTokens.length).map((user) => user.refreshToken),
        inFlight: new Set(),
        rotated: 0,
        recovered: 0,
        lost: 0,
        lostByStatus: {},
        lostInRecovery: {},
        poolEmpty: 0,
      });
      if (ctx.state.pool.length < ctx.opts.connections) {
        throw new Error(`refresh needs more session chains (${ctx.state.pool.length}) than connections (${ctx.opts.connections}): raise --users`);
      }
    },
    loads: (ctx, target) => [refreshLoad(ctx, target)],
    afterRun: recoverInFlight,
    notes: (ctx) => ({
      chains: ctx.state.pool.length + ctx.state.inFlight.size,
      rotations: ctx.state.rotated,
      recoveredAfterRuns: ctx.state.recovered,
      lostInRuns: ctx.state.lost,
      lostByStatus: ctx.state.lostByStatus,
      lostInRecovery: ctx.state.lostInRecovery,
      poolEmpty: ctx.state.poolEmpty,
    }),
  },
  {
    id: 'login-12',
    title: 'POST /auth/login',
    cost: 12,
    loads: (ctx, target) => [loginLoad(ctx, target)],
  },
  {
    id: 'register-12',
    title: 'POST /auth/register',
    cost: 12,
    loads: (ctx, target) => [registerLoad(ctx, target)],
  },
  {
    id: 'me-under-login',
    title: 'GET /users/me while login saturates hashing',
    cost: 12,
    loads: (ctx, target) => [meLoad(ctx, target), loginLoad(ctx, target)],
  },
  {
    id: 'login-10',
    title: 'POST /auth/login',
    cost: 10,
    loads: (ctx, target) => [loginLoad(ctx, target)],
  },
  {
    id: 'register-10',
    title: 'POST /auth/register',
    cost: 10,
    loads: (ctx, target) => [registerLoad(ctx, target)],
  },
  {
    id: 'rmq-users-get',
    title: `users.get through RabbitMQ (Nest ClientProxy from the client kit, ${RMQ_IN_FLIGHT} in flight)`,
    cost: 12,
    reference: 'rmq-echo',
    needsBroker: true,
    loadMeta: () => ({ 'users.get': { connections: RMQ_IN_FLIGHT, ceiling: false } }),
    run: (ctx, target, duration) =>
      rpcRun(ctx, target, duration, {
        load: 'users.get',
        pattern: 'users.get',
        payloads: ctx.users.map((user) => ({ id: user.id })),
        check: (reply, payload) => reply?.id === payload.id,
      }),
    teardown: closeClients,
  },
  {
    id: 'rmq-verify-token',
    title: `auth.verify_token through RabbitMQ (Nest ClientProxy from the client kit, ${RMQ_IN_FLIGHT} in flight)`,
    cost: 12,
    reference: 'rmq-echo',
    needsBroker: true,
    loadMeta: () => ({ 'auth.verify_token': { connections: RMQ_IN_FLIGHT, ceiling: false } }),
    run: (ctx, target, duration) =>
      rpcRun(ctx, target, duration, {
        load: 'auth.verify_token',
        pattern: 'auth.verify_token',
        payloads: ctx.meTokens.map((token) => ({ token })),
        check: (reply) => reply?.valid === true,
      }),
    teardown: closeClients,
  },
  {
    id: 'outbox-burst',
    title: 'user.created from POST /auth/register to a consumer of user.events, registrations as fast as they go (BCRYPT_COST 4)',
    cost: 4,
    needsBroker: true,
    loadMeta: (opts) => outboxLoadMeta(opts.authConnections),
    run: (ctx, target, duration) => outboxRun(ctx, target, duration, { tag: 'burst', connections: ctx.opts.authConnections }),
  },
  {
    id: 'outbox-latency',
    title: `the same at a steady ${OUTBOX_PACED_RATE} registrations/s (about half of what the burst reaches here)`,
    cost: 4,
    needsBroker: true,
    loadMeta: () => outboxLoadMeta(`${OUTBOX_PACED_RATE}/s`),
    run: (ctx, target, duration) => outboxRun(ctx, target, duration, { tag: 'paced', ratePerSecond: OUTBOX_PACED_RATE }),
  },
];

/** The bcrypt cost of the admin phases: that of login-12, so admin-login compares with it. */
export const ADMIN_COST = 12;

/** GET of an admin route as the bootstrap admin (ADMIN_EMAIL), `path` after /api/v1. */
function adminGetLoad(name, ctx, target, path) {
  return {
    name,
    url: `${target.url}${API}${path}`,
    connections: ctx.opts.connections,
    options: { headers: { authorization: `Bearer ${ctx.admin?.token}` } },
  };
}

const adminList = (query) => `/admin/users?limit=${ADMIN_PAGE_SIZE}${query}`;

/**
 * The admin scenarios, run once per --admin-users size, each copy against the
 * database of that size (its own service). Ids are `<id>@<size>`
 * (admin-list@1k, admin-list@1M); the table puts the sizes of one scenario
 * next to each other.
 */
export const ADMIN_SCENARIOS = [
  {
    id: 'admin-list',
    title: `GET /admin/users?limit=${ADMIN_PAGE_SIZE} (first page)`,
    loads: (ctx, target) => [adminGetLoad('list', ctx, target, adminList(''))],
  },
  {
    id: 'admin-page1000',
    title: `GET /admin/users, page ${DEEP_PAGE.toLocaleString('en')} (cursor from walking ${DEEP_PAGE - 1} pages in setup)`,
    loads: (ctx, target) => [adminGetLoad('page', ctx, target, ctx.admin?.deepPage.path ?? adminList(''))],
    notes: (ctx) => ({ pageLoaded: ctx.admin.deepPage.page, walkSeconds: ctx.admin.deepPage.seconds, problems: ctx.admin.deepPage.problems }),
  },
  {
    id: 'admin-search-name',
    title: `GET /admin/users?q=${NAME_PREFIX} (name word prefix)`,
    loads: (ctx, target) => [adminGetLoad('search', ctx, target, adminList(`&q=${NAME_PREFIX}`))],
  },
  {
    id: 'admin-search-email',
    title: `GET /admin/users?q=${EMAIL_PREFIX} (email prefix)`,
    loads: (ctx, target) => [adminGetLoad('search', ctx, target, adminList(`&q=${encodeURIComponent(EMAIL_PREFIX)}`))],
  },
  {
    id: 'admin-status',
    title: 'GET /admin/users?status=suspended',
    loads: (ctx, target) => [adminGetLoad('status', ctx, target, adminList('&status=suspended'))],
  },
  {
    id: 'admin-stats',
    title: 'GET /admin/stats',
    loads: (ctx, target) => [adminGetLoad('stats', ctx, target, '/admin/stats')],
  },
  {
    id: 'admin-login',
    title: 'POST /auth/login as seeded users (seed password)',
    loads: (ctx, target) => [loginLoad(ctx, target)],
  },
  {
    id: 'admin-me',
    title: 'GET /users/me as seeded users (tokens from logins in setup)',
    loads: (ctx, target) => [meLoad(ctx, target)],
  },
];

/** Every scenario of a run: SCENARIOS, then ADMIN_SCENARIOS once per admin size (smallest first). */
export function allScenarios(adminSizes = []) {
  const admin = [...adminSizes]
    .sort((a, b) => a - b)
    .flatMap((size) =>
      ADMIN_SCENARIOS.map((scenario) => ({
        ...scenario,
        id: `${scenario.id}@${sizeLabel(size)}`,
        baseId: scenario.id,
        cost: ADMIN_COST,
        adminUsers: size,
      })),
    );
  return [...SCENARIOS, ...admin];
}

/** A name selects the scenario with that id or, when there is none, every id starting with "name-" or "name@". */
function matches(name, scenarios) {
  const exact = scenarios.some((s) => s.id === name);
  return (scenario) => (exact ? scenario.id === name : scenario.id.startsWith(`${name}-`) || scenario.id.startsWith(`${name}@`));
}

/** The scenarios --only names (all when it names none), in their running order. */
export function selectScenarios(only, adminSizes = []) {
  const scenarios = allScenarios(adminSizes);
  if (!only || only.length === 0) return scenarios;
  const unknown = only.filter((name) => !scenarios.some(matches(name, scenarios)));
  if (unknown.length > 0) {
    throw new Error(`unknown scenario(s): ${unknown.join(', ')} (known: ${scenarios.map((s) => s.id).join(', ')})`);
  }
  return scenarios.filter((scenario) => only.some((name) => matches(name, scenarios)(scenario)));
}
