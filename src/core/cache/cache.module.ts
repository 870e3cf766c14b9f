import { Global, Inject, Logger, Module, OnApplicationShutdown } from '@nestjs/common';
import KeyvRedis from '@keyv/redis';
import { createCache } from 'cache-manager';
import { Keyv, type KeyvStoreAdapter } from 'keyv';

import type { AppConfig } from '../config/config.js';
import { APP_CONFIG } from '../config/config.module.js';
import { CacheService } from './cache.service.js';
import { CACHE, STRICT_STORE } from './cache.tokens.js';

const BACKEND = Symbol('CACHE_BACKEND');

/** Redis when configured, else a process-local map. Both Keyv views below share it. */
function createBackend(config: AppConfig): KeyvStoreAdapter | Map<string, unknown> {
  if (!config.redisUrl) return new Map();
  return new KeyvRedis(
    {
      url: config.redisUrl,
      // Fail fast while Redis is away instead of queueing commands until it returns.
      disableOfflineQueue: true,
      socket: { connectTimeout: 2_000, reconnectStrategy: (retries: number) => Math.min(100 * 2 ** retries, 5_000) },
    },
    { throwOnConnectError: true, throwOnErrors: true, connectionTimeout: 1_000 },
  );
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
export class CacheModule implements OnApplicationShutdown {
  constructor(@Inject(STRICT_STORE) private readonly store: Keyv) {}

  async onApplicationShutdown(): Promise<void> {
    await this.store.disconnect().catch(() => undefined);
  }
}
