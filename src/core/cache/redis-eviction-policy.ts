import type { Logger } from '@nestjs/common';

import { ConfigError } from '../config/config.js';

/** The part of a node-redis client the check needs. */
export interface RedisConfigClient {
  readonly isReady: boolean;
  configGet(parameter: string): Promise<Record<string, string>>;
  once(event: 'ready', listener: () => void): unknown;
  on(event: 'ready', listener: () => void): unknown;
  off(event: 'ready', listener: () => void): unknown;
}

export type EvictionPolicy = { policy: string } | { unverified: string };

/**
 * Session revocation marks must stay in Redis as long as the tokens they
 * refuse: any policy but noeviction (allkeys-*, and volatile-*, which picks
 * exactly such keys with a TTL) may drop them under memory pressure, and the
 * revoked tokens would be accepted again. Under noeviction a full Redis refuses
 * writes instead, which the revocation path survives (the database keeps the mark pending).
 */
export const REQUIRED_POLICY = 'noeviction';

/** A ConfigError, so the start fails with its one line (see main.ts). */
export class EvictingRedisError extends ConfigError {
  constructor(policy: string) {
    super(
      `Redis maxmemory-policy is "${policy}" but must be "${REQUIRED_POLICY}" (an evicting policy can drop session revocation marks): set maxmemory-policy ${REQUIRED_POLICY} on the Redis server`,
    );
    this.name = 'EvictingRedisError';
  }
}

export async function readEvictionPolicy(client: RedisConfigClient): Promise<EvictionPolicy> {
  try {
    const policy = (await client.configGet('maxmemory-policy'))['maxmemory-policy'];
    return policy ? { policy } : { unverified: 'CONFIG GET maxmemory-policy returned nothing' };
  } catch (error) {
    // Managed Redis often renames or forbids CONFIG (ERR unknown command, NOPERM).
    return { unverified: (error as Error).message };
  }
}

function whenReady(client: RedisConfigClient, timeoutMs: number): Promise<boolean> {
  if (client.isReady) return Promise.resolve(true);
  return new Promise((resolve) => {
    const ready = () => {
      clearTimeout(timer);
      resolve(true);
    };
    const timer = setTimeout(() => {
      client.off('ready', ready);
      resolve(false);
    }, timeoutMs);
    client.once('ready', ready);
  });
}

/**
 * At start: throws EvictingRedisError when Redis is set to evict; warns when
 * the policy cannot be read (CONFIG not allowed, or Redis not reachable yet).
 * Afterwards, on every (re)connect, logs an error if the policy is wrong (a
 * restarted or failed-over Redis may come back configured otherwise).
 */
export async function requireNoEviction(client: RedisConfigClient, logger: Logger, connectTimeoutMs: number): Promise<void> {
  const connected = await whenReady(client, connectTimeoutMs);
  const found = connected ? await readEvictionPolicy(client) : { unverified: 'Redis is not reachable yet' };
  client.on('ready', () => {
    void readEvictionPolicy(client).then((later) => {
      if ('policy' in later && later.policy !== REQUIRED_POLICY) logger.error(new EvictingRedisError(later.policy).message);
    });
  });
  if ('policy' in found) {
    if (found.policy !== REQUIRED_POLICY) throw new EvictingRedisError(found.policy);
    return;
  }
  logger.warn(
    `could not verify that Redis maxmemory-policy is ${REQUIRED_POLICY} (${found.unverified}); an evicting policy can drop session revocation marks`,
  );
}
