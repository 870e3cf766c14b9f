import { Global, Inject, Logger, Module, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import KeyvRedis, { type RedisConnectionClientType } from '@keyv/redis';
import { createCache } from 'cache-manager';
import { Keyv, type KeyvStoreAdapter } from 'keyv';

import type { AppConfig } from '../config/config.js';
import { APP_CONFIG } from '../config/config.module.js';
import { CacheService } from './cache.service.js';
import { CACHE, STRICT_STORE } from './cache.tokens.js';
import { requireNoEviction } from './redis-eviction-policy.js';

const BACKEND = Symbol('CACHE_BACKEND');
const CONNECT_TIMEOUT_MS = 2_000;

/** Redis when configured, else a process-local map. Both Keyv views below share it. */
function createBackend(config: AppConfig): KeyvStoreAdapter | Map<string, unknown> {
  if (!config.redisUrl) return new Map();
  const redis = new KeyvRedis(
    {
      url: config.redisUrl,
      // Fail fast while Redis is away instead of queueing commands until it returns.
      disableOfflineQueue: true,
      socket: { connectTimeout: CONNECT_TIMEOUT_MS, reconnectStrategy: (retries: number) => Math.min(100 * 2 ** retries, 5_000) },
    },
    { throwOnConnectError: true, throwOnErrors: true, connectionTimeout: 1_000 },
  );
  // Connect now, once: KeyvRedis otherwise connects on first use, and two first
  // uses at once (the two views below share this client) each open a socket,
  // orphaning one. Not awaited: the service starts while Redis is away, and the
  // client's reconnect strategy takes over.
  redis.client.connect().catch(() => undefined);
  return redis;
}

function view(backend: KeyvStoreAdapter | Map<string, unknown>, config: AppConfig, throwOnErrors: boolean): Keyv {
  return new Keyv({ store: backend, namespace: config.redisKeyPrefix, throwOnErrors, useKeyPrefix: backend instanceof Map });
}

@Global()
@Module({
  providers: [
    { provide: BACKEND, inject: [APP_CONFIG], useFactory: createBackend },
    {
      provide: STRICT_STORE,
      inject: [BACKEND, APP_CONFIG],
      useFactory: (backend: KeyvStoreAdapter | Map<string, unknown>, config: AppConfig) => {
        const keyv = view(backend, config, true);
        const logger = new Logger('Cache');
        keyv.on('error', (error: unknown) => logger.warn(`redis: ${(error as Error)?.message ?? String(error)}`));
        return keyv;
      },
    },
    {
      provide: CACHE,
      inject: [BACKEND, APP_CONFIG],
      // Errors read as misses and failed writes are skipped: callers fall back to the database.
      useFactory: (backend: KeyvStoreAdapter | Map<string, unknown>, config: AppConfig) => {
        const keyv = view(backend, config, false);
        keyv.on('error', () => undefined);
        return createCache({ stores: [keyv] });
      },
    },
    CacheService,
  ],
  exports: [STRICT_STORE, CACHE, CacheService],
})
export class CacheModule implements OnModuleInit, OnApplicationShutdown {
  constructor(@Inject(BACKEND) private readonly backend: KeyvStoreAdapter | Map<string, unknown>) {}

  /** Refuses to start on a Redis that may evict keys (see redis-eviction-policy.ts). */
  async onModuleInit(): Promise<void> {
    if (!(this.backend instanceof KeyvRedis)) return;
    // A URL makes a single-node client (never a cluster or sentinel one).
    const client = this.backend.client as RedisConnectionClientType;
    await requireNoEviction(client, new Logger('Cache'), CONNECT_TIMEOUT_MS);
  }

  async onApplicationShutdown(): Promise<void> {
    if (!(this.backend instanceof KeyvRedis)) return;
    // Destroy, not a graceful close: KeyvRedis skips closing a client whose
    // (lazy) connection is still being opened, and that socket would outlive the app.
    this.backend.client.destroy();
  }
}
