import { Global, Inject, Logger, Module, OnApplicationShutdown } from '@nestjs/common';
import KeyvRedis from '@keyv/redis';
import { type Cache, createCache } from 'cache-manager';
import { Keyv } from 'keyv';

import type { AppConfig } from '../config/config.js';
import { APP_CONFIG } from '../config/config.module.js';

/** Key-value store that throws when Redis fails, for checks that must not mistake an outage for "absent". */
export const STRICT_STORE = Symbol('STRICT_STORE');
/** cache-manager over the same store: a Redis failure reads as a miss, so callers fall back to the database. */
export const CACHE = Symbol('CACHE');

export type StrictStore = Keyv;
export type { Cache };

function createStore(config: AppConfig, logger: Logger): Keyv {
  if (!config.redisUrl) return new Keyv({ namespace: config.redisKeyPrefix, throwOnErrors: true });
  const redis = new KeyvRedis(
    {
      url: config.redisUrl,
      // Fail fast while Redis is away instead of queueing commands until it returns.
      disableOfflineQueue: true,
      socket: { connectTimeout: 2_000, reconnectStrategy: (retries: number) => Math.min(100 * 2 ** retries, 5_000) },
    },
    { throwOnConnectError: true, throwOnErrors: true, connectionTimeout: 1_000 },
  );
  const keyv = new Keyv({ store: redis, namespace: config.redisKeyPrefix, throwOnErrors: true, useKeyPrefix: false });
  keyv.on('error', (error: unknown) => logger.warn(`redis: ${(error as Error)?.message ?? String(error)}`));
  return keyv;
}

@Global()
@Module({
  providers: [
    {
      provide: STRICT_STORE,
      inject: [APP_CONFIG],
      useFactory: (config: AppConfig) => createStore(config, new Logger('Cache')),
    },
    {
      provide: CACHE,
      inject: [STRICT_STORE],
      useFactory: (store: Keyv) => createCache({ stores: [store] }),
    },
  ],
  exports: [STRICT_STORE, CACHE],
})
export class CacheModule implements OnApplicationShutdown {
  constructor(@Inject(STRICT_STORE) private readonly store: Keyv) {}

  async onApplicationShutdown(): Promise<void> {
    await this.store.disconnect().catch(() => undefined);
  }
}
