import { spawnSync } from 'node:child_process';
import { createHash, randomUUID } from 'node:crypto';

import { Logger } from '@nestjs/common';
import { Redis } from 'ioredis';

import { loadConfig } from '../../core/config/config.js';
import { LoginLockout } from './login-lockout.js';
import { LOCAL } from '../../../test/utils/services.js';

/**
 * Two free failures, the third locks the address out for 60 s (doubling up to
 * an hour); six on one account lock its failed addresses out for 15 minutes.
 */
const POLICY = {
  NODE_ENV: 'test',
  LOGIN_LOCKOUT_FAILURES: '3',
  LOGIN_LOCKOUT_SECONDS: '60',
  LOGIN_LOCKOUT_MAX_SECONDS: '3600',
  LOGIN_ACCOUNT_LOCKOUT_FAILURES: '6',
  LOGIN_ACCOUNT_LOCKOUT_WINDOW_SECONDS: '900',
};
type Env = Record<string, string>;

/** Each test has accounts of its own, so Redis-backed tests never see each other's counts. */
const newEmail = () => `${randomUUID()}@example.com`;
const IP = '203.0.113.7';
const OTHER_IP = '198.51.100.23';
/** Distinct addresses, as many as needed. */
const ip = (n: number) => `192.0.2.${n}`;

async function failTimes(lockout: LoginLockout, email: string, address: string | null, times: number): Promise<void> {
  for (let i = 0; i < times; i += 1) await lockout.recordFailure(email, address);
}

/** What the behavioural cases need from a store besides the LoginLockout itself. */
interface Backend {
  /** A LoginLockout over this store with POLICY (and `env` on top of it). */
  create(env?: Env): Promise<LoginLockout>;
  /** The address's own lock runs out; its failures stay counted. */
  outlastLock(lockout: LoginLockout, email: string, address: string): Promise<void>;
  /** The account's window of failures closes (addresses' own counts stay). */
  closeAccountWindow(email: string): Promise<void>;
}

/** The rules, whichever store counts. */
function behavesAsTheLockout(backend: Backend): void {
  it('lets an address fail LOGIN_LOCKOUT_FAILURES - 1 times freely and locks it out for LOGIN_LOCKOUT_SECONDS at the next', async () => {
    const lockout = await backend.create();
    const email = newEmail();

    await expect(lockout.retryAfterSeconds(email, IP)).resolves.toBe(0);
    await lockout.recordFailure(email, IP);
    await expect(lockout.retryAfterSeconds(email, IP)).resolves.toBe(0);
    await lockout.recordFailure(email, IP);
    await expect(lockout.retryAfterSeconds(email, IP)).resolves.toBe(0);
    await lockout.recordFailure(email, IP);
    await expect(lockout.retryAfterSeconds(email, IP)).resolves.toBe(60);
  });

  it('doubles the lock with each further failure, up to LOGIN_LOCKOUT_MAX_SECONDS', async () => {
    // Far from the account-wide rule, which would otherwise join in.
    const lockout = await backend.create({ LOGIN_LOCKOUT_MAX_SECONDS: '300', LOGIN_ACCOUNT_LOCKOUT_FAILURES: '100' });
    const email = newEmail();
    await failTimes(lockout, email, IP, 3);

    const locks: number[] = [await lockout.retryAfterSeconds(email, IP)];
    for (let i = 0; i < 4; i += 1) {
      await backend.outlastLock(lockout, email, IP);
      // Once a lock has run out, the address may try once more.
      await expect(lockout.retryAfterSeconds(email, IP)).resolves.toBe(0);
      await lockout.recordFailure(email, IP);
      locks.push(await lockout.retryAfterSeconds(email, IP));
    }

    expect(locks).toEqual([60, 120, 240, 300, 300]);
  });

  it('goes by recorded failures alone: checks are free and change no lock, whatever password the caller holds', async () => {
    const lockout = await backend.create();
    const email = newEmail();

    // Any number of checks counts as nothing.
    for (let i = 0; i < 10; i += 1) await expect(lockout.retryAfterSeconds(email, IP)).resolves.toBe(0);
    await failTimes(lockout, email, IP, 2);
    await expect(lockout.retryAfterSeconds(email, IP)).resolves.toBe(0);

    await lockout.recordFailure(email, IP);
    // Neither shortened nor lengthened by the refused attempts (the service asks before it looks at a password).
    const answers: number[] = [];
    for (let i = 0; i < 5; i += 1) answers.push(await lockout.retryAfterSeconds(email, IP));
    expect(answers).toEqual([60, 60, 60, 60, 60]);
  });

  it("clears the address's failures on a success, so it starts again from nothing", async () => {
    const lockout = await backend.create();
    const email = newEmail();
    await failTimes(lockout, email, IP, 2);

    await lockout.recordSuccess(email, IP);

    await failTimes(lockout, email, IP, 2);
    await expect(lockout.retryAfterSeconds(email, IP)).resolves.toBe(0);
    await lockout.recordFailure(email, IP);
    await expect(lockout.retryAfterSeconds(email, IP)).resolves.toBe(60);
  });

  it('forgets the doubling history on a success: the next lock is LOGIN_LOCKOUT_SECONDS again', async () => {
    const lockout = await backend.create({ LOGIN_ACCOUNT_LOCKOUT_FAILURES: '100' });
    const email = newEmail();
    await failTimes(lockout, email, IP, 4);
    await expect(lockout.retryAfterSeconds(email, IP)).resolves.toBe(120);
    await backend.outlastLock(lockout, email, IP);

    await lockout.recordSuccess(email, IP);
    await failTimes(lockout, email, IP, 3);

    await expect(lockout.retryAfterSeconds(email, IP)).resolves.toBe(60);
  });

  it("clears only that address's failures on a success", async () => {
    const lockout = await backend.create({ LOGIN_ACCOUNT_LOCKOUT_FAILURES: '100' });
    const email = newEmail();
    await failTimes(lockout, email, IP, 2);
    await failTimes(lockout, email, OTHER_IP, 2);

    await lockout.recordSuccess(email, IP);

    await lockout.recordFailure(email, OTHER_IP);
    await expect(lockout.retryAfterSeconds(email, OTHER_IP)).resolves.toBe(60);
    await lockout.recordFailure(email, IP);
    await expect(lockout.retryAfterSeconds(email, IP)).resolves.toBe(0);
  });

  it('counts each address on its own: one locked out does not lock out another', async () => {
    const lockout = await backend.create();
    const email = newEmail();
    await failTimes(lockout, email, IP, 3);

    await expect(lockout.retryAfterSeconds(email, IP)).resolves.toBe(60);
    await expect(lockout.retryAfterSeconds(email, OTHER_IP)).resolves.toBe(0);
    await failTimes(lockout, email, OTHER_IP, 2);
    await expect(lockout.retryAfterSeconds(email, OTHER_IP)).resolves.toBe(0);
  });

  describe('across addresses (LOGIN_ACCOUNT_LOCKOUT_FAILURES in the window)', () => {
    it('locks out, for the rest of the window, every address that failed on the account once the account reaches the limit', async () => {
      const lockout = await backend.create();
      const email = newEmail();
      // Six addresses, one failure each: none of them near its own limit.
      for (let n = 1; n <= 5; n += 1) await lockout.recordFailure(email, ip(n));
      for (let n = 1; n <= 5; n += 1) await expect(lockout.retryAfterSeconds(email, ip(n))).resolves.toBe(0);

      await lockout.recordFailure(email, ip(6));

      for (let n = 1; n <= 6; n += 1) await expect(lockout.retryAfterSeconds(email, ip(n))).resolves.toBe(900);
    });

    it('still lets an address without failures on the account in (the owner at home), until it fails there too', async () => {
      const lockout = await backend.create();
      const email = newEmail();
      for (let n = 1; n <= 6; n += 1) await lockout.recordFailure(email, ip(n));

      await expect(lockout.retryAfterSeconds(email, IP)).resolves.toBe(0);
      await lockout.recordFailure(email, IP);
      await expect(lockout.retryAfterSeconds(email, IP)).resolves.toBe(900);
    });

    it("lifts nothing for the others when a clean address signs in, and a success clears that address's own failures only", async () => {
      const lockout = await backend.create();
      const email = newEmail();
      for (let n = 1; n <= 6; n += 1) await lockout.recordFailure(email, ip(n));

      await lockout.recordSuccess(email, IP);
      await lockout.recordSuccess(email, ip(1));

      for (let n = 2; n <= 6; n += 1) await expect(lockout.retryAfterSeconds(email, ip(n))).resolves.toBe(900);
      // ip(1)'s failure is forgotten: it is a clean address again.
      await expect(lockout.retryAfterSeconds(email, ip(1))).resolves.toBe(0);
    });

    it('lets the addresses that failed in again once the window closes', async () => {
      const lockout = await backend.create();
      const email = newEmail();
      for (let n = 1; n <= 6; n += 1) await lockout.recordFailure(email, ip(n));
      await expect(lockout.retryAfterSeconds(email, ip(1))).resolves.toBe(900);

      await backend.closeAccountWindow(email);

      for (let n = 1; n <= 6; n += 1) await expect(lockout.retryAfterSeconds(email, ip(n))).resolves.toBe(0);
    });

    it("answers an address's own longer lock while it runs", async () => {
      const lockout = await backend.create({ LOGIN_LOCKOUT_SECONDS: '1800' });
      const email = newEmail();
      await failTimes(lockout, email, IP, 3);
      for (let n = 1; n <= 3; n += 1) await lockout.recordFailure(email, ip(n));

      await expect(lockout.retryAfterSeconds(email, IP)).resolves.toBe(1800);
      await expect(lockout.retryAfterSeconds(email, ip(1))).resolves.toBe(900);
    });
  });

  it('keeps accounts apart: an address locked out of one account, and an account locked across addresses, leave other accounts alone', async () => {
    const lockout = await backend.create();
    const attacked = newEmail();
    const other = newEmail();
    await failTimes(lockout, attacked, IP, 3);
    for (let n = 1; n <= 6; n += 1) await lockout.recordFailure(attacked, ip(n));
    await expect(lockout.retryAfterSeconds(attacked, IP)).resolves.toBe(60);
    await expect(lockout.retryAfterSeconds(attacked, ip(1))).resolves.toBe(900);

    await expect(lockout.retryAfterSeconds(other, IP)).resolves.toBe(0);
    await expect(lockout.retryAfterSeconds(other, ip(1))).resolves.toBe(0);
    await failTimes(lockout, other, IP, 2);
    await expect(lockout.retryAfterSeconds(other, IP)).resolves.toBe(0);
  });

  it('counts an email however it is cased or padded as one account', async () => {
    const lockout = await backend.create();
    const local = randomUUID();

    await lockout.recordFailure(`${local}@Example.COM`, IP);
    await lockout.recordFailure(`  ${local.toUpperCase()}@example.com `, IP);
    await lockout.recordFailure(`\t${local}@EXAMPLE.com`, IP);

    await expect(lockout.retryAfterSeconds(`${local}@example.com`, IP)).resolves.toBe(60);
    await lockout.recordSuccess(` ${local}@example.COM`, IP);
    await expect(lockout.retryAfterSeconds(`${local}@example.com`, IP)).resolves.toBe(0);
  });

  it('counts every attempt without a client address as one address', async () => {
    const lockout = await backend.create();
    const email = newEmail();

    await failTimes(lockout, email, null, 3);

    await expect(lockout.retryAfterSeconds(email, null)).resolves.toBe(60);
    await expect(lockout.retryAfterSeconds(email, IP)).resolves.toBe(0);
  });
}

describe('LoginLockout in process (no REDIS_URL)', () => {
  /** The clock the in-process store reads (Date.now). */
  let now: number;
  const created: LoginLockout[] = [];
  const create = async (env: Env = {}) => {
    const lockout = new LoginLockout(loadConfig({ ...POLICY, ...env }));
    created.push(lockout);
    return lockout;
  };

  beforeEach(() => {
    now = Date.parse('2026-12-01T12:00:00Z');
    jest.spyOn(Date, 'now').mockImplementation(() => now);
  });

  afterEach(() => {
    for (const lockout of created.splice(0)) lockout.onApplicationShutdown();
    jest.restoreAllMocks();
  });

  behavesAsTheLockout({
    create,
    outlastLock: async (lockout, email, address) => {
      now += (await lockout.retryAfterSeconds(email, address)) * 1000;
    },
    closeAccountWindow: async () => {
      now += 900 * 1000;
    },
  });

  it('makes no Redis client without REDIS_URL', async () => {
    const lockout = await create();

    expect(lockout['redis']).toBeUndefined();
  });

  it('lets a lock run out with time, to the second', async () => {
    const lockout = await create();
    const email = newEmail();
    await failTimes(lockout, email, IP, 3);

    now += 59_000;
    await expect(lockout.retryAfterSeconds(email, IP)).resolves.toBe(1);
    now += 999;
    await expect(lockout.retryAfterSeconds(email, IP)).resolves.toBe(1);
    now += 1;
    await expect(lockout.retryAfterSeconds(email, IP)).resolves.toBe(0);
  });

  it("forgets an address's failures 2 × LOGIN_LOCKOUT_MAX_SECONDS after its last one", async () => {
    const lockout = await create();
    const kept = newEmail();
    const forgotten = newEmail();
    await failTimes(lockout, kept, IP, 2);
    await failTimes(lockout, forgotten, IP, 2);

    now += 2 * 3600 * 1000 - 1;
    await lockout.recordFailure(kept, IP);
    now += 1;
    await lockout.recordFailure(forgotten, IP);

    await expect(lockout.retryAfterSeconds(kept, IP)).resolves.toBe(60);
    await expect(lockout.retryAfterSeconds(forgotten, IP)).resolves.toBe(0);
  });

  it("measures the account's window from its first failure, not its last", async () => {
    const lockout = await create();
    const email = newEmail();
    await lockout.recordFailure(email, ip(1));

    now += 600 * 1000;
    for (let n = 2; n <= 6; n += 1) await lockout.recordFailure(email, ip(n));

    await expect(lockout.retryAfterSeconds(email, ip(6))).resolves.toBe(300);
    now += 300 * 1000;
    await expect(lockout.retryAfterSeconds(email, ip(6))).resolves.toBe(0);
  });

  it('stays within its bound under a flood of distinct accounts, without throwing, and keeps counting the recent ones', async () => {
    // MemoryFailureStore.MAX_ENTRIES.
    const bound = 100_000;
    const lockout = await create();
    const local = lockout['local'];

    for (let i = 0; i < bound + 50; i += 1) await lockout.recordFailure(`flood-${i}@example.com`, IP);

    expect(local['clients'].size).toBeLessThanOrEqual(bound);
    expect(local['accounts'].size).toBeLessThanOrEqual(bound);
    const recent = newEmail();
    await failTimes(lockout, recent, IP, 3);
    await expect(lockout.retryAfterSeconds(recent, IP)).resolves.toBe(60);
  });

  it('counts in process, saying so, while a configured Redis cannot be reached', async () => {
    const warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    // Nothing listens on port 1.
    const lockout = await create({ REDIS_URL: 'redis://127.0.0.1:1', REDIS_KEY_PREFIX: `unreachable-${randomUUID()}` });
    const email = newEmail();

    await failTimes(lockout, email, IP, 3);

    await expect(lockout.retryAfterSeconds(email, IP)).resolves.toBe(60);
    expect(warn).toHaveBeenCalledWith(expect.stringMatching(/^shared login lockout unavailable, counting locally: /));
  });
});

/*
 * The same rules on the Redis store. The unit tier has no global setup, so this
 * probes like test/utils/global-setup.ts does: TEST_REDIS_URL, else the local
 * server. Skipped, loudly, only when neither answers and CI is not 'true'.
 */
const ci = process.env.CI === 'true';
const configuredRedisUrl = process.env.TEST_REDIS_URL || undefined;
const redisUrl = configuredRedisUrl ?? LOCAL.redis;

/** A synchronous TCP probe: describe() must know now whether to run or skip. */
function answers(url: string): boolean {
  const { hostname, port } = new URL(url);
  const script = `const s = require('node:net').connect({ host: ${JSON.stringify(hostname)}, port: ${Number(port) || 6379} });
    s.setTimeout(1000, () => process.exit(1)); s.once('connect', () => process.exit(0)); s.once('error', () => process.exit(1));`;
  return spawnSync(process.execPath, ['-e', script], { timeout: 3_000 }).status === 0;
}

const redisAnswers = answers(redisUrl);

if (!redisAnswers && (ci || configuredRedisUrl)) {
  describe('LoginLockout on Redis', () => {
    it('needs Redis here (CI=true or TEST_REDIS_URL is set)', () => {
      throw new Error(
        configuredRedisUrl
          ? `TEST_REDIS_URL=${configuredRedisUrl} does not answer`
          : `CI=true but no Redis answers at ${redisUrl} (set TEST_REDIS_URL)`,
      );
    });
  });
} else if (!redisAnswers) {
  console.warn(`!! LoginLockout on Redis is SKIPPED: no Redis at ${redisUrl} (set TEST_REDIS_URL)`);
  const unavailable = () => Promise.reject(new Error('no Redis'));
  describe.skip(`LoginLockout on Redis [SKIPPED: no Redis at ${redisUrl}; set TEST_REDIS_URL]`, () =>
    behavesAsTheLockout({ create: unavailable, outlastLock: unavailable, closeAccountWindow: unavailable }),
  );
} else {
  describe('LoginLockout on Redis', () => {
    /** This file's keys only: REDIS_KEY_PREFIX is unique, and only keys under it are ever deleted. */
    const prefix = `test-login-lockout-${process.pid}-${randomUUID()}`;
    const keyBase = `${prefix}:login-lockout:`;
    const accountOf = (email: string) => createHash('sha256').update(email.trim().toLowerCase()).digest('base64url').slice(0, 22);
    const clientKey = (email: string, address: string) => `${keyBase}c:${accountOf(email)}:${address}`;
    const accountKey = (email: string) => `${keyBase}a:${accountOf(email)}`;

    let admin: Redis;
    let warn: jest.SpiedFunction<Logger['warn']>;
    const created: LoginLockout[] = [];

    async function create(env: Env = {}): Promise<LoginLockout> {
      const lockout = new LoginLockout(loadConfig({ ...POLICY, REDIS_URL: redisUrl, REDIS_KEY_PREFIX: prefix, ...env }));
      created.push(lockout);
      const redis = lockout['redis'];
      if (!redis) throw new Error('LoginLockout made no Redis client');
      // Commands before the connection is up fail at once (no offline queue) and would be counted in process.
      if (redis.status !== 'ready') {
        await new Promise<void>((resolve, reject) => {
          const timer = setTimeout(() => reject(new Error(`Redis at ${redisUrl} not ready within 5 s`)), 5_000);
          redis.once('ready', () => {
            clearTimeout(timer);
            resolve();
          });
        });
      }
      return lockout;
    }

    async function ownKeys(): Promise<string[]> {
      const keys: string[] = [];
      let cursor = '0';
      do {
        const [next, batch] = await admin.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
        cursor = next;
        keys.push(...batch);
      } while (cursor !== '0');
      return keys;
    }

    beforeAll(async () => {
      admin = new Redis(redisUrl, { maxRetriesPerRequest: 1 });
      await admin.ping();
    });

    beforeEach(() => {
      warn = jest.spyOn(Logger.prototype, 'warn');
    });

    afterEach(() => {
      for (const lockout of created.splice(0)) lockout.onApplicationShutdown();
      // Every count above went to Redis: none fell back to the process.
      const fellBack = warn.mock.calls.filter(([message]) => String(message).startsWith('shared login lockout unavailable'));
      jest.restoreAllMocks();
      expect(fellBack).toEqual([]);
    });

    afterAll(async () => {
      const keys = await ownKeys();
      if (keys.length) await admin.del(...keys);
      await admin.quit();
    });

    behavesAsTheLockout({
      create,
      outlastLock: async (_lockout, email, address) => {
        await admin.hset(clientKey(email, address), 'until', 0);
      },
      closeAccountWindow: async (email) => {
        await admin.del(accountKey(email));
      },
    });

    it('keeps its counts under REDIS_KEY_PREFIX, naming accounts by a digest, with expiries', async () => {
      const lockout = await create();
      const email = newEmail();

      await lockout.recordFailure(email, IP);

      const all = await ownKeys();
      expect(all.join(' ')).not.toContain(email.split('@')[0]);
      const keys = all.filter((key) => key.includes(accountOf(email)));
      expect(keys.sort()).toEqual([accountKey(email), clientKey(email, IP)].sort());
      await expect(admin.hget(clientKey(email, IP), 'failures')).resolves.toBe('1');
      await expect(admin.get(accountKey(email))).resolves.toBe('1');
      // An address is remembered 2 × LOGIN_LOCKOUT_MAX_SECONDS, the account's count for its window.
      const [clientTtl, accountTtl] = await Promise.all([admin.pttl(clientKey(email, IP)), admin.pttl(accountKey(email))]);
      expect(clientTtl).toBeGreaterThan(2 * 3600 * 1000 - 5_000);
      expect(clientTtl).toBeLessThanOrEqual(2 * 3600 * 1000);
      expect(accountTtl).toBeGreaterThan(900 * 1000 - 5_000);
      expect(accountTtl).toBeLessThanOrEqual(900 * 1000);

      await lockout.recordSuccess(email, IP);
      await expect(admin.exists(clientKey(email, IP))).resolves.toBe(0);
      // The account's count outlives a success (the account-wide rule counts every address).
      await expect(admin.get(accountKey(email))).resolves.toBe('1');
    });

    it('shares the counts between replicas', async () => {
      const [first, second] = [await create(), await create()];
      const email = newEmail();

      await first.recordFailure(email, IP);
      await second.recordFailure(email, IP);
      await first.recordFailure(email, IP);

      await expect(second.retryAfterSeconds(email, IP)).resolves.toBe(60);
      await second.recordSuccess(email, IP);
      await expect(first.retryAfterSeconds(email, IP)).resolves.toBe(0);
    });

    it("takes the time from Redis, not from the replica's clock", async () => {
      const lockout = await create();
      const email = newEmail();
      const skewed = jest.spyOn(Date, 'now').mockReturnValue(Date.parse('2001-01-01T00:00:00Z'));

      await failTimes(lockout, email, IP, 3);

      await expect(lockout.retryAfterSeconds(email, IP)).resolves.toBe(60);
      skewed.mockReturnValue(Date.parse('2101-01-01T00:00:00Z'));
      await expect(lockout.retryAfterSeconds(email, IP)).resolves.toBe(60);
    });
  });
}
