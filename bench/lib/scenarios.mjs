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
//   reference  'health' | 'user' | undefined: the reference server it is also run against
//   setup(ctx)                 optional, once before its first run
//   loads(ctx, target)         the autocannon loads of one run, run concurrently;
//                              the first is the primary one (its req/s picks the median run).
//                              Each: { name, url, connections, options, ceiling? }; ceiling: true
//                              compares its req/s with the bcrypt ceiling at `cost`.
//   afterRun(ctx, target)      optional, right after every run (warm-up included)
//   notes(ctx)                 optional, extra facts for the report (object)
//
// ctx: { opts, runTag, cost, users, meTokens, password, state } (state: a per-scenario scratch object);
//      admin scenarios also get ctx.admin: { token, size, deepPage: { page, path, keyset } }
// target: { kind: 'service' | 'reference', label, url, pid }

import { ADMIN_PAGE_SIZE, DEEP_PAGE, EMAIL_PREFIX, NAME_PREFIX, sizeLabel } from './admin.mjs';

export const API = '/api/v1';

const JSON_HEADERS = { 'content-type': 'application/json' };

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
  // Still to come, when the service has them:
  // - RabbitMQ request/response patterns (users.get, users.get_many,
  //   auth.verify_token, preferences.get on the `user-service` queue of this
  //   run's own vhost, ctx.rabbitmqUrl): not HTTP, so such a scenario gives
  //   `run(ctx, target, duration)` instead of `loads`, returning what
  //   runLoads() returns ({ process, loads: { name: summary } }); run.mjs
  //   calls it in place of runLoads (see runOnce there).
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
