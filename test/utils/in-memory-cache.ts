import { createCache } from 'cache-manager';
import { Keyv } from 'keyv';

import { CacheService } from '../../src/core/cache/cache.service.js';

/**
 * A real CacheService over a process-local Keyv: the strict view and
 * cache-manager share one store, as they share Redis in the app. No Redis.
 * (Its own file, so specs that do not need it do not load cache-manager.)
 */
export function inMemoryCacheService(): { cache: CacheService; store: Keyv } {
  const store = new Keyv({ throwOnErrors: true });
  return { cache: new CacheService(store, createCache({ stores: [store] })), store };
}
