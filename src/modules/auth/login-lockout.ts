import { Inject, Injectable, Logger, type OnApplicationShutdown } from '@nestjs/common';
import { Redis } from 'ioredis';

import type { AppConfig } from '../../core/config/config.js';
import { APP_CONFIG } from '../../core/config/config.module.js';
import { sha256 } from '../../core/crypto/sealed-box.js';

type Policy = AppConfig['loginLockout'];

/** Where failures are counted: Redis for every replica at once, or this process while Redis is away. */
interface FailureStore {
  /** Milliseconds this address is still locked out of this account; 0 when it may try. */
  lockedFor(account: string, client: string, policy: Policy): Promise<number>;
  recordFailure(account: string, client: string, policy: Policy): Promise<void>;
  forgetClient(account: string, client: string): Promise<void>;
}

/** Failures of one address are forgotten this long after its last one (or at its next sign-in). */
const clientMemoryMs = (policy: Policy) => 2 * policy.maxSeconds * 1000;

const lockMs = (failures: number, policy: Policy) =>
  failures < policy.failuresPerClient
    ? 0
    : Math.min(policy.baseSeconds * 1000 * 2 ** (failures - policy.failuresPerClient), policy.maxSeconds * 1000);

// Both scripts take the time from Redis, so replicas with skewed clocks agree.
const LOCKED_FOR = `
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local client = redis.call('HMGET', KEYS[1], 'failures', 'until')
local failures = tonumber(client[1]) or 0
local locked_until = tonumber(client[2]) or 0
if locked_until > now then return locked_until - now end
if failures > 0 and (tonumber(redis.call('GET', KEYS[2])) or 0) >= tonumber(ARGV[1]) then
  local ttl = redis.call('PTTL', KEYS[2])
  if ttl > 0 then return ttl end
end
return 0`;

const RECORD_FAILURE = `
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local limit, base, max = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local failures = redis.call('HINCRBY', KEYS[1], 'failures', 1)
if failures >= limit then
  redis.call('HSET', KEYS[1], 'until', now + math.min(base * 2 ^ (failures - limit), max))
end
redis.call('PEXPIRE', KEYS[1], ARGV[4])
if redis.call('INCR', KEYS[2]) == 1 then redis.call('PEXPIRE', KEYS[2], ARGV[5]) end
return failures`;

type LockoutRedis = Redis & {
  loginLockedFor(clientKey: string, accountKey: string, accountLimit: number): Promise<number>;
  loginFailure(clientKey: string, accountKey: string, ...args: number[]): Promise<number>;
};

class RedisFailureStore implements FailureStore {
  constructor(
    private readonly redis: LockoutRedis,
    private readonly prefix: string,
  ) {}

  private keys(account: string, client: string): [string, string] {
    return [`${this.prefix}c:${account}:${client}`, `${this.prefix}a:${account}`];
  }

  lockedFor(account: string, client: string, policy: Policy): Promise<number> {
    return this.redis.loginLockedFor(...this.keys(account, client), policy.failuresPerAccount);
  }

  async recordFailure(account: string, client: string, policy: Policy): Promise<void> {
    await this.redis.loginFailure(
      ...this.keys(account, client),
      policy.failuresPerClient,
      policy.baseSeconds * 1000,
      policy.maxSeconds * 1000,
      clientMemoryMs(policy),
      policy.accountWindowSeconds * 1000,
    );
  }

  async forgetClient(account: string, client: string): Promise<void> {
    await this.redis.del(this.keys(account, client)[0]);
  }
}

/** The same rules as the Redis scripts, for one process. Bounded: the oldest entries go first. */
class MemoryFailureStore implements FailureStore {
  private static readonly MAX_ENTRIES = 100_000;
  private readonly clients = new Map<string, { failures: number; until: number; expiresAt: number }>();
  private readonly accounts = new Map<string, { failures: number; expiresAt: number }>();

  async lockedFor(account: string, client: string, policy: Policy): Promise<number> {
    const now = Date.now();
    const entry = this.live(this.clients, `${account}:${client}`, now);
    if (!entry) return 0;
    if (entry.until > now) return entry.until - now;
    const total = this.live(this.accounts, account, now);
    return total && total.failures >= policy.failuresPerAccount ? total.expiresAt - now : 0;
  }

  async recordFailure(account: string, client: string, policy: Policy): Promise<void> {
    const now = Date.now();
    const key = `${account}:${client}`;
    const failures = (this.live(this.clients, key, now)?.failures ?? 0) + 1;
    const lock = lockMs(failures, policy);
    this.put(this.clients, key, { failures, until: lock ? now + lock : 0, expiresAt: now + clientMemoryMs(policy) });
    const total = this.live(this.accounts, account, now);
    if (total) total.failures += 1;
    else this.put(this.accounts, account, { failures: 1, expiresAt: now + policy.accountWindowSeconds * 1000 });
  }

  async forgetClient(account: string, client: string): Promise<void> {
    this.clients.delete(`${account}:${client}`);
  }

  private live<T extends { expiresAt: number }>(map: Map<string, T>, key: string, now: number): T | undefined {
    const entry = map.get(key);
    if (entry && entry.expiresAt <= now) map.delete(key);
    return entry && entry.expiresAt > now ? entry : undefined;
  }

  private put<T>(map: Map<string, T>, key: string, value: T): void {
    map.delete(key);
    map.set(key, value);
    if (map.size > MemoryFailureStore.MAX_ENTRIES) map.delete(map.keys().next().value!);
  }
}

/**
 * Slows password guessing without handing anyone a way to lock the owner out.
 * Only failures count, per account and client address: after
 * LOGIN_LOCKOUT_FAILURES of them that address is locked out of that account for
 * LOGIN_LOCKOUT_SECONDS, doubled by each further failure up to
 * LOGIN_LOCKOUT_MAX_SECONDS. Guessing spread over many addresses is capped by
 * the account's failures from all of them: beyond LOGIN_ACCOUNT_LOCKOUT_FAILURES
 * in the window, every address that has failed on the account is locked out of
 * it, while an address without failures (the owner's usual one) still gets in.
 * A successful sign-in clears its address's failures. Unknown emails are
 * counted alike, so the answers say nothing about which accounts exist.
 */
@Injectable()
export class LoginLockout implements OnApplicationShutdown {
  private readonly logger = new Logger('LoginLockout');
  private readonly redis: LockoutRedis | undefined;
  private readonly shared: FailureStore | undefined;
  private readonly local = new MemoryFailureStore();

  constructor(@Inject(APP_CONFIG) private readonly config: AppConfig) {
    if (!config.redisUrl) return;
    const redis = new Redis(config.redisUrl, { enableOfflineQueue: false, maxRetriesPerRequest: 1, connectTimeout: 2_000 });
    // Reported by each call that fails; without a listener ioredis prints every reconnect attempt.
    redis.on('error', () => undefined);
    redis.defineCommand('loginLockedFor', { numberOfKeys: 2, lua: LOCKED_FOR });
    redis.defineCommand('loginFailure', { numberOfKeys: 2, lua: RECORD_FAILURE });
    this.redis = redis as LockoutRedis;
    this.shared = new RedisFailureStore(this.redis, `${config.redisKeyPrefix}:login-lockout:`);
  }

  /** Seconds the address must wait before trying this account again; 0 when it may try now. */
  async retryAfterSeconds(email: string, clientIp: string | null): Promise<number> {
    const ms = await this.use((store) => store.lockedFor(...keysOf(email, clientIp), this.config.loginLockout));
    return Math.ceil(ms / 1000);
  }

  recordFailure(email: string, clientIp: string | null): Promise<void> {
    return this.use((store) => store.recordFailure(...keysOf(email, clientIp), this.config.loginLockout));
  }

  recordSuccess(email: string, clientIp: string | null): Promise<void> {
    return this.use((store) => store.forgetClient(...keysOf(email, clientIp)));
  }

  private async use<T>(work: (store: FailureStore) => Promise<T>): Promise<T> {
    if (this.shared) {
      try {
        return await work(this.shared);
      } catch (error) {
        this.logger.warn(`shared login lockout unavailable, counting locally: ${(error as Error).message}`);
      }
    }
    return work(this.local);
  }

  onApplicationShutdown(): void {
    this.redis?.disconnect();
  }
}

/** The account (by a digest of its email, never the address itself) and the client it is tried from. */
function keysOf(email: string, clientIp: string | null): [account: string, client: string] {
  return [sha256(email.trim().toLowerCase()).toString('base64url').slice(0, 22), clientIp ?? 'unknown'];
}
