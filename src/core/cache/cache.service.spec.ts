import { Logger } from '@nestjs/common';
import { createCache } from 'cache-manager';
import { Keyv } from 'keyv';

import { inMemoryCacheService } from '../../../test/utils/in-memory-cache.js';
import { CacheService } from './cache.service.js';
import type { Cache, StrictStore } from './cache.tokens.js';

type Entry = { key: string; value: unknown; ttl: number };

/** A deferred promise: lets a spec hold a store call in flight. */
function deferred<T = void>() {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

describe('CacheService', () => {
  let store: { get: jest.Mock; setMany: jest.Mock; deleteMany: jest.Mock };
  let cacheManager: { wrap: jest.Mock };
  let service: CacheService;
  let warn: jest.SpiedFunction<Logger['warn']>;

  beforeEach(() => {
    jest.useFakeTimers();
    store = {
      get: jest.fn().mockResolvedValue(undefined),
      setMany: jest.fn().mockResolvedValue([true]),
      deleteMany: jest.fn().mockResolvedValue(true),
    };
    cacheManager = { wrap: jest.fn((_key: string, load: () => Promise<unknown>) => load()) };
    service = new CacheService(store as unknown as StrictStore, cacheManager as unknown as Cache);
    warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
  });

  afterEach(() => {
    service.onApplicationShutdown();
    warn.mockRestore();
    jest.useRealTimers();
  });

  describe('read', () => {
    it('reads through cache-manager wrap with the key, the loader and the TTL', async () => {
      cacheManager.wrap.mockResolvedValue({ cached: true });
      const load = jest.fn().mockResolvedValue({ cached: false });

      await expect(service.read('user:1', 60_000, load)).resolves.toEqual({ cached: true });

      expect(cacheManager.wrap).toHaveBeenCalledWith('user:1', load, 60_000);
      expect(load).not.toHaveBeenCalled();
    });

    it('lets a loader failure reach the caller', async () => {
      const load = jest.fn().mockRejectedValue(new Error('database is down'));

      await expect(service.read('user:1', 60_000, load)).rejects.toThrow('database is down');
    });

    describe('over a real in-memory cache', () => {
      it('loads once, then answers from the cache; concurrent misses share one load', async () => {
        jest.useRealTimers();
        const { cache } = inMemoryCacheService();
        const load = jest.fn(async () => ({ name: 'Ada' }));

        const [first, second] = await Promise.all([cache.read('user:1', 60_000, load), cache.read('user:1', 60_000, load)]);
        const third = await cache.read('user:1', 60_000, load);

        expect([first, second, third]).toEqual([{ name: 'Ada' }, { name: 'Ada' }, { name: 'Ada' }]);
        expect(load).toHaveBeenCalledTimes(1);
      });

      it('treats a store that cannot be reached as a miss (the loader answers), while strictGet throws', async () => {
        jest.useRealTimers();
        const down = () => Promise.reject(new Error('redis is down'));
        const unreachable = { get: down, set: down, delete: down, clear: down, has: down, on: () => unreachable };
        const lenient = new Keyv({ store: unreachable, throwOnErrors: false });
        lenient.on('error', () => undefined);
        const strict = new Keyv({ store: unreachable, throwOnErrors: true });
        strict.on('error', () => undefined);
        const cache = new CacheService(strict, createCache({ stores: [lenient] }));
        const load = jest.fn().mockResolvedValue('from the database');

        await expect(cache.read('k', 60_000, load)).resolves.toBe('from the database');
        await expect(cache.read('k', 60_000, load)).resolves.toBe('from the database');
        expect(load).toHaveBeenCalledTimes(2);
        await expect(cache.strictGet('k')).rejects.toThrow('redis is down');
        cache.onApplicationShutdown();
      });

      it('loads again once the key is invalidated', async () => {
        jest.useRealTimers();
        const { cache, store: keyv } = inMemoryCacheService();
        const load = jest.fn().mockResolvedValueOnce('v1').mockResolvedValueOnce('v2');

        await expect(cache.read('k', 60_000, load)).resolves.toBe('v1');
        await expect(keyv.get('k')).resolves.toBe('v1');
        await cache.invalidate('k');

        await expect(cache.read('k', 60_000, load)).resolves.toBe('v2');
        expect(load).toHaveBeenCalledTimes(2);
      });
    });
  });

  describe('strictGet', () => {
    it('answers what the store holds', async () => {
      store.get.mockResolvedValue(1);

      await expect(service.strictGet('revoked-session:s1')).resolves.toBe(1);
      expect(store.get).toHaveBeenCalledWith('revoked-session:s1');
    });

    it('throws when the store throws, so the caller can ask the source of truth', async () => {
      store.get.mockRejectedValue(new Error('redis is down'));

      await expect(service.strictGet('revoked-session:s1')).rejects.toThrow('redis is down');
    });
  });

  describe('strictSet', () => {
    it('does nothing for no entries', async () => {
      await service.strictSet([]);

      expect(store.setMany).not.toHaveBeenCalled();
    });

    it('writes every entry in one call, TTL in milliseconds', async () => {
      await service.strictSet([
        { key: 'a', value: 1, ttlMs: 5_000 },
        { key: 'b', value: 2, ttlMs: 7_000 },
      ]);

      expect(store.setMany).toHaveBeenCalledWith([
        { key: 'a', value: 1, ttl: 5_000 },
        { key: 'b', value: 2, ttl: 7_000 },
      ]);
    });

    it('throws when the store throws or refuses an entry, and keeps nothing to retry', async () => {
      store.setMany.mockRejectedValueOnce(new Error('redis is down')).mockResolvedValueOnce([true, false]);

      await expect(service.strictSet([{ key: 'a', value: 1, ttlMs: 5_000 }])).rejects.toThrow('redis is down');
      await expect(
        service.strictSet([
          { key: 'a', value: 1, ttlMs: 5_000 },
          { key: 'b', value: 1, ttlMs: 5_000 },
        ]),
      ).rejects.toThrow('did not take every entry');

      await jest.advanceTimersByTimeAsync(60_000);
      expect(store.setMany).toHaveBeenCalledTimes(2);
      await expect(service.strictGet('a')).resolves.toBeUndefined();
      expect(store.get).toHaveBeenCalledWith('a');
    });

    it('supersedes a write still pending for the same key', async () => {
      store.setMany.mockRejectedValueOnce(new Error('redis is down'));
      await service.setReliably([{ key: 'a', value: 'old', ttlMs: 60_000 }]);

      await service.strictSet([{ key: 'a', value: 'new', ttlMs: 60_000 }]);
      store.get.mockResolvedValue('new');

      await expect(service.strictGet('a')).resolves.toBe('new');
      await jest.advanceTimersByTimeAsync(60_000);
      expect(store.setMany).toHaveBeenCalledTimes(2);
    });
  });

  describe('setReliably', () => {
    it('does nothing for no entries', async () => {
      await service.setReliably([]);

      expect(store.setMany).not.toHaveBeenCalled();
    });

    it('writes every entry in one call, TTL in milliseconds', async () => {
      await service.setReliably([
        { key: 'a', value: 1, ttlMs: 5_000 },
        { key: 'b', value: { x: 1 }, ttlMs: 7_000 },
      ]);

      expect(store.setMany).toHaveBeenCalledWith([
        { key: 'a', value: 1, ttl: 5_000 },
        { key: 'b', value: { x: 1 }, ttl: 7_000 },
      ]);
      expect(warn).not.toHaveBeenCalled();
    });

    it('keeps a refused write pending: strictGet and read answer it without the store', async () => {
      store.setMany.mockRejectedValueOnce(new Error('redis is down'));
      store.get.mockResolvedValue('stale');

      await expect(service.setReliably([{ key: 'a', value: 'fresh', ttlMs: 60_000 }])).resolves.toBeUndefined();

      expect(warn).toHaveBeenCalledTimes(1);
      await expect(service.strictGet('a')).resolves.toBe('fresh');
      expect(store.get).not.toHaveBeenCalled();

      const load = jest.fn().mockResolvedValue('from the database');
      await expect(service.read('a', 60_000, load)).resolves.toBe('from the database');
      expect(cacheManager.wrap).not.toHaveBeenCalled();
    });

    it('retries after a second with the TTL that is left, then clears the pending write', async () => {
      store.setMany.mockRejectedValueOnce(new Error('redis is down'));

      await service.setReliably([
        { key: 'a', value: 1, ttlMs: 60_000 },
        { key: 'b', value: 2, ttlMs: 60_000 },
      ]);
      await jest.advanceTimersByTimeAsync(999);
      expect(store.setMany).toHaveBeenCalledTimes(1);
      await jest.advanceTimersByTimeAsync(1);
      expect(store.setMany).toHaveBeenCalledTimes(2);

      // The value still expires when it would have, had the first write worked.
      expect(store.setMany.mock.calls[1]![0]).toEqual([
        { key: 'a', value: 1, ttl: 59_000 },
        { key: 'b', value: 2, ttl: 59_000 },
      ]);
      expect(store.deleteMany).not.toHaveBeenCalled();

      store.get.mockResolvedValue('from redis');
      await expect(service.strictGet('a')).resolves.toBe('from redis');
      expect(store.get).toHaveBeenCalledWith('a');
      await service.read('a', 60_000, jest.fn());
      expect(cacheManager.wrap).toHaveBeenCalledTimes(1);

      await jest.advanceTimersByTimeAsync(120_000);
      expect(store.setMany).toHaveBeenCalledTimes(2);
    });

    it('backs off (1 s, 2 s, 4 s …) while the store keeps failing, then writes everything pending at once', async () => {
      store.setMany
        .mockRejectedValueOnce(new Error('down'))
        .mockRejectedValueOnce(new Error('down'))
        .mockRejectedValueOnce(new Error('down'))
        .mockRejectedValueOnce(new Error('down'));

      await service.setReliably([{ key: 'a', value: 1, ttlMs: 600_000 }]);
      await service.setReliably([{ key: 'b', value: 2, ttlMs: 600_000 }]);
      expect(store.setMany).toHaveBeenCalledTimes(2);

      await jest.advanceTimersByTimeAsync(1_000);
      expect(store.setMany).toHaveBeenCalledTimes(3);
      await jest.advanceTimersByTimeAsync(1_999);
      expect(store.setMany).toHaveBeenCalledTimes(3);
      await jest.advanceTimersByTimeAsync(1);
      expect(store.setMany).toHaveBeenCalledTimes(4);
      await jest.advanceTimersByTimeAsync(3_999);
      expect(store.setMany).toHaveBeenCalledTimes(4);
      await jest.advanceTimersByTimeAsync(1);
      expect(store.setMany).toHaveBeenCalledTimes(5);

      const keys = (store.setMany.mock.calls[4]![0] as Entry[]).map((entry) => entry.key).sort();
      expect(keys).toEqual(['a', 'b']);
    });

    it('caps the back-off at 30 s and starts again from 1 s after a success', async () => {
      store.setMany.mockRejectedValue(new Error('down'));
      await service.setReliably([{ key: 'a', value: 1, ttlMs: 3_600_000 }]);
      // 1 + 2 + 4 + 8 + 16 + 30 + 30 s
      await jest.advanceTimersByTimeAsync(91_000);
      expect(store.setMany).toHaveBeenCalledTimes(8);
      await jest.advanceTimersByTimeAsync(29_999);
      expect(store.setMany).toHaveBeenCalledTimes(8);

      store.setMany.mockResolvedValue([true]);
      await jest.advanceTimersByTimeAsync(1);
      expect(store.setMany).toHaveBeenCalledTimes(9);

      store.setMany.mockRejectedValueOnce(new Error('down again'));
      await service.setReliably([{ key: 'b', value: 2, ttlMs: 3_600_000 }]);
      await jest.advanceTimersByTimeAsync(1_000);
      expect(store.setMany).toHaveBeenCalledTimes(11);
    });

    it('drops pending writes that would already have expired', async () => {
      store.setMany.mockRejectedValue(new Error('down for good'));

      await service.setReliably([
        { key: 'short', value: 1, ttlMs: 2_500 },
        { key: 'long', value: 2, ttlMs: 600_000 },
      ]);
      await jest.advanceTimersByTimeAsync(1_000);
      expect((store.setMany.mock.calls[1]![0] as Entry[]).map((e) => e.key)).toEqual(['short', 'long']);
      await jest.advanceTimersByTimeAsync(2_000);
      expect((store.setMany.mock.calls[2]![0] as Entry[]).map((e) => e.key)).toEqual(['long']);

      // Dropped: this replica asks the store again.
      await expect(service.strictGet('short')).resolves.toBeUndefined();
      expect(store.get).toHaveBeenCalledWith('short');
    });

    it('stops retrying once nothing is left to write', async () => {
      store.setMany.mockRejectedValue(new Error('down for good'));

      await service.setReliably([{ key: 'a', value: 1, ttlMs: 5_000 }]);
      await jest.advanceTimersByTimeAsync(60_000);
      const attempts = store.setMany.mock.calls.length;
      expect(attempts).toBeGreaterThan(2);

      await jest.advanceTimersByTimeAsync(10 * 60_000);
      expect(store.setMany).toHaveBeenCalledTimes(attempts);
      expect(jest.getTimerCount()).toBe(0);
    });
  });

  describe('invalidate', () => {
    it('does nothing for no keys', async () => {
      await service.invalidate();

      expect(store.deleteMany).not.toHaveBeenCalled();
    });

    it('deletes the keys in one call', async () => {
      await service.invalidate('user:1', 'preferences:1');

      expect(store.deleteMany).toHaveBeenCalledWith(['user:1', 'preferences:1']);
      expect(warn).not.toHaveBeenCalled();
    });

    it('keeps a refused invalidation pending: the key reads as absent and read() bypasses the cache', async () => {
      store.deleteMany.mockRejectedValueOnce(new Error('redis is down'));
      store.get.mockResolvedValue('stale');
      cacheManager.wrap.mockResolvedValue('stale');

      await expect(service.invalidate('user:1')).resolves.toBeUndefined();
      expect(warn).toHaveBeenCalledTimes(1);

      await expect(service.strictGet('user:1')).resolves.toBeUndefined();
      expect(store.get).not.toHaveBeenCalled();
      const load = jest.fn().mockResolvedValue('fresh');
      await expect(service.read('user:1', 60_000, load)).resolves.toBe('fresh');
      await expect(service.read('user:1', 60_000, load)).resolves.toBe('fresh');
      expect(cacheManager.wrap).not.toHaveBeenCalled();
      expect(load).toHaveBeenCalledTimes(2);

      // Other keys still read through the cache.
      await expect(service.read('user:2', 60_000, load)).resolves.toBe('stale');
    });

    it('retries the deletion after a second, then reads through the cache again', async () => {
      store.deleteMany.mockRejectedValueOnce(new Error('redis is down'));

      await service.invalidate('user:1', 'preferences:1');
      await jest.advanceTimersByTimeAsync(1_000);

      expect(store.deleteMany).toHaveBeenCalledTimes(2);
      expect(store.deleteMany).toHaveBeenLastCalledWith(['user:1', 'preferences:1']);
      expect(store.setMany).not.toHaveBeenCalled();
      cacheManager.wrap.mockResolvedValue('cached');
      await expect(service.read('user:1', 60_000, jest.fn())).resolves.toBe('cached');
      store.get.mockResolvedValue('cached');
      await expect(service.strictGet('preferences:1')).resolves.toBe('cached');
    });

    it('keeps pending invalidations however long the store stays away', async () => {
      store.deleteMany.mockRejectedValue(new Error('down'));

      await service.invalidate('user:1');
      await jest.advanceTimersByTimeAsync(10 * 60_000);
      const attempts = store.deleteMany.mock.calls.length;
      expect(attempts).toBeGreaterThan(5);
      await expect(service.strictGet('user:1')).resolves.toBeUndefined();

      store.deleteMany.mockResolvedValue(true);
      await jest.advanceTimersByTimeAsync(30_000);
      expect(store.deleteMany).toHaveBeenCalledTimes(attempts + 1);
      store.get.mockResolvedValue('value');
      await expect(service.strictGet('user:1')).resolves.toBe('value');
    });

    it('retries pending writes and invalidations together', async () => {
      store.setMany.mockRejectedValueOnce(new Error('down'));
      store.deleteMany.mockRejectedValueOnce(new Error('down'));

      await service.setReliably([{ key: 'a', value: 1, ttlMs: 60_000 }]);
      await service.invalidate('b');
      await jest.advanceTimersByTimeAsync(1_000);

      expect(store.setMany).toHaveBeenLastCalledWith([{ key: 'a', value: 1, ttl: 59_000 }]);
      expect(store.deleteMany).toHaveBeenLastCalledWith(['b']);
      store.get.mockResolvedValue('x');
      await expect(service.strictGet('a')).resolves.toBe('x');
      await expect(service.strictGet('b')).resolves.toBe('x');
    });

    it('keeps everything pending when only the deletions of a retry fail', async () => {
      store.setMany.mockRejectedValueOnce(new Error('down'));
      store.deleteMany.mockRejectedValueOnce(new Error('down')).mockRejectedValueOnce(new Error('still down'));

      await service.setReliably([{ key: 'a', value: 1, ttlMs: 60_000 }]);
      await service.invalidate('b');
      await jest.advanceTimersByTimeAsync(1_000);

      await expect(service.strictGet('a')).resolves.toBe(1);
      await expect(service.strictGet('b')).resolves.toBeUndefined();
      expect(store.get).not.toHaveBeenCalled();

      await jest.advanceTimersByTimeAsync(2_000);
      expect(store.deleteMany).toHaveBeenCalledTimes(3);
      await service.strictGet('a');
      expect(store.get).toHaveBeenCalledWith('a');
    });
  });

  it('stops retrying on shutdown', async () => {
    store.setMany.mockRejectedValueOnce(new Error('down'));

    await service.setReliably([{ key: 'a', value: 1, ttlMs: 60_000 }]);
    service.onApplicationShutdown();
    await jest.advanceTimersByTimeAsync(5_000);

    expect(store.setMany).toHaveBeenCalledTimes(1);
  });

  it('does not keep the process alive while a retry is scheduled', async () => {
    jest.useRealTimers();
    const schedule = jest.spyOn(global, 'setTimeout');
    store.setMany.mockRejectedValueOnce(new Error('down'));

    await service.setReliably([{ key: 'a', value: 1, ttlMs: 60_000 }]);

    expect(schedule).toHaveBeenCalledTimes(1);
    const timer = schedule.mock.results[0]!.value as NodeJS.Timeout;
    expect(timer.hasRef()).toBe(false);
    schedule.mockRestore();
  });

  describe('pending writes and newer writes of the same key', () => {
    // A successful write supersedes an older one still waiting for a retry.
    it('lets a successful invalidation supersede an earlier pending write of the same key', async () => {
      store.setMany.mockRejectedValueOnce(new Error('down'));
      await service.setReliably([{ key: 'a', value: 'old', ttlMs: 60_000 }]);

      await service.invalidate('a');
      await expect(service.strictGet('a')).resolves.toBeUndefined();
      await jest.advanceTimersByTimeAsync(1_000);
      expect(store.setMany).toHaveBeenCalledTimes(1);
    });

    // A retry clears only the writes it sent: one deferred again meanwhile stays pending.
    it('retries an invalidation deferred while a retry of the same key is in flight', async () => {
      store.deleteMany.mockRejectedValueOnce(new Error('down'));
      await service.invalidate('user:1');

      const inFlight = deferred<boolean>();
      store.deleteMany.mockReturnValueOnce(inFlight.promise).mockRejectedValueOnce(new Error('down'));
      await jest.advanceTimersByTimeAsync(1_000); // the retry sends DEL user:1 and waits
      await service.invalidate('user:1'); // after a second commit; refused: pending again
      inFlight.resolve(true);
      await jest.advanceTimersByTimeAsync(0);

      await expect(service.strictGet('user:1')).resolves.toBeUndefined();
      expect(store.get).not.toHaveBeenCalled();
      await jest.advanceTimersByTimeAsync(2_000);
      expect(store.deleteMany).toHaveBeenCalledTimes(4);
    });

    it('keeps a write deferred while a retry of the same key is in flight', async () => {
      store.setMany.mockRejectedValueOnce(new Error('down'));
      await service.setReliably([{ key: 'a', value: 'v1', ttlMs: 60_000 }]);

      const inFlight = deferred<boolean[]>();
      store.setMany.mockReturnValueOnce(inFlight.promise).mockRejectedValueOnce(new Error('down'));
      await jest.advanceTimersByTimeAsync(1_000); // the retry sends v1 and waits
      await service.setReliably([{ key: 'a', value: 'v2', ttlMs: 60_000 }]); // refused: v2 pending
      inFlight.resolve([true]);
      await jest.advanceTimersByTimeAsync(0);

      await expect(service.strictGet('a')).resolves.toBe('v2');
    });
  });
});
