import { Logger } from '@nestjs/common';
import { createCache } from 'cache-manager';
import { Keyv } from 'keyv';

import { CacheService } from '../../core/cache/cache.service.js';
import type { Cache, StrictStore } from '../../core/cache/cache.tokens.js';
import { loadConfig } from '../../core/config/config.js';
import { SessionRevocations } from './session-revocations.js';
import type { SessionsRepository } from './sessions.repository.js';

const config = loadConfig({ NODE_ENV: 'test', ACCESS_TOKEN_TTL_SECONDS: '900', SESSION_IDLE_TTL_SECONDS: '3600' });
const MARK_TTL_MS = (900 + 60) * 1000;

describe('SessionRevocations', () => {
  let store: { get: jest.Mock; setMany: jest.Mock; deleteMany: jest.Mock };
  let cacheManager: { wrap: jest.Mock };
  let cache: CacheService;
  let repository: { isEnded: jest.Mock };
  let revocations: SessionRevocations;
  let warn: jest.SpiedFunction<Logger['warn']>;

  beforeEach(() => {
    store = {
      get: jest.fn().mockResolvedValue(undefined),
      setMany: jest.fn().mockResolvedValue([true]),
      deleteMany: jest.fn().mockResolvedValue(true),
    };
    cacheManager = { wrap: jest.fn() };
    cache = new CacheService(store as unknown as StrictStore, cacheManager as unknown as Cache);
    repository = { isEnded: jest.fn() };
    revocations = new SessionRevocations(cache, repository as unknown as SessionsRepository, config);
    warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
  });

  afterEach(() => {
    cache.onApplicationShutdown();
    warn.mockRestore();
    jest.useRealTimers();
  });

  describe('isRevoked', () => {
    it('is true when the store holds a mark for the session', async () => {
      store.get.mockResolvedValue(1);

      await expect(revocations.isRevoked('s1')).resolves.toBe(true);
      expect(store.get).toHaveBeenCalledWith('revoked-session:s1');
      expect(repository.isEnded).not.toHaveBeenCalled();
    });

    it('is false when the store has no mark', async () => {
      store.get.mockResolvedValue(undefined);

      await expect(revocations.isRevoked('s1')).resolves.toBe(false);
      expect(repository.isEnded).not.toHaveBeenCalled();
    });

    it.each([true, false])('asks the database (answer %s) when the store cannot be read', async (ended) => {
      store.get.mockRejectedValue(new Error('redis is down'));
      repository.isEnded.mockResolvedValue(ended);

      await expect(revocations.isRevoked('s1')).resolves.toBe(ended);
      expect(repository.isEnded).toHaveBeenCalledWith('s1', 3600);
    });

    it('never goes through the lenient cache-manager view (an outage must not read as "not revoked")', async () => {
      store.get.mockRejectedValue(new Error('redis is down'));
      repository.isEnded.mockResolvedValue(true);

      await revocations.isRevoked('s1');

      expect(cacheManager.wrap).not.toHaveBeenCalled();
    });
  });

  describe('markRevoked', () => {
    it('does nothing for no sessions', async () => {
      await revocations.markRevoked([]);

      expect(store.setMany).not.toHaveBeenCalled();
    });

    it('writes one mark per session that outlives every access token', async () => {
      await revocations.markRevoked(['s1', 's2']);

      expect(store.setMany).toHaveBeenCalledWith([
        { key: 'revoked-session:s1', value: 1, ttl: MARK_TTL_MS },
        { key: 'revoked-session:s2', value: 1, ttl: MARK_TTL_MS },
      ]);
    });

    it('honours a mark the store refused on this replica at once, without asking the store or the database', async () => {
      store.setMany.mockRejectedValueOnce(new Error('redis is down'));
      store.get.mockResolvedValue(undefined);

      await expect(revocations.markRevoked(['s1'])).resolves.toBeUndefined();

      await expect(revocations.isRevoked('s1')).resolves.toBe(true);
      expect(store.get).not.toHaveBeenCalled();
      expect(repository.isEnded).not.toHaveBeenCalled();
      await expect(revocations.isRevoked('s2')).resolves.toBe(false);
    });

    it('retries marks the store refused, after a second', async () => {
      jest.useFakeTimers();
      store.setMany.mockRejectedValueOnce(new Error('redis is down'));

      await expect(revocations.markRevoked(['s1', 's2'])).resolves.toBeUndefined();
      expect(warn).toHaveBeenCalledTimes(1);
      expect(store.setMany).toHaveBeenCalledTimes(1);

      await jest.advanceTimersByTimeAsync(999);
      expect(store.setMany).toHaveBeenCalledTimes(1);
      await jest.advanceTimersByTimeAsync(1);
      expect(store.setMany).toHaveBeenCalledTimes(2);

      const retried = store.setMany.mock.calls[1]![0] as { key: string; value: number; ttl: number }[];
      expect(retried.map(({ key, value }) => ({ key, value }))).toEqual([
        { key: 'revoked-session:s1', value: 1 },
        { key: 'revoked-session:s2', value: 1 },
      ]);
      // The mark still ends when it would have, had the first write worked.
      for (const { ttl } of retried) expect(ttl).toBe(MARK_TTL_MS - 1000);

      await jest.advanceTimersByTimeAsync(60_000);
      expect(store.setMany).toHaveBeenCalledTimes(2);

      // Written: the store answers again.
      store.get.mockResolvedValue(1);
      await expect(revocations.isRevoked('s1')).resolves.toBe(true);
      expect(store.get).toHaveBeenCalledWith('revoked-session:s1');
    });

    it('backs off while the store keeps failing, then writes everything pending at once', async () => {
      jest.useFakeTimers();
      store.setMany
        .mockRejectedValueOnce(new Error('down'))
        .mockRejectedValueOnce(new Error('down'))
        .mockRejectedValueOnce(new Error('down'));

      await revocations.markRevoked(['s1']);
      await revocations.markRevoked(['s2']);
      expect(store.setMany).toHaveBeenCalledTimes(2);

      await jest.advanceTimersByTimeAsync(1000);
      expect(store.setMany).toHaveBeenCalledTimes(3);
      await jest.advanceTimersByTimeAsync(1999);
      expect(store.setMany).toHaveBeenCalledTimes(3);
      await jest.advanceTimersByTimeAsync(1);
      expect(store.setMany).toHaveBeenCalledTimes(4);

      const keys = (store.setMany.mock.calls[3]![0] as { key: string }[]).map((entry) => entry.key).sort();
      expect(keys).toEqual(['revoked-session:s1', 'revoked-session:s2']);
    });

    it('gives up on marks that would already have expired', async () => {
      jest.useFakeTimers();
      store.setMany.mockRejectedValue(new Error('down for good'));

      await revocations.markRevoked(['s1']);
      await jest.advanceTimersByTimeAsync(MARK_TTL_MS + 60_000);
      const attempts = store.setMany.mock.calls.length;
      expect(attempts).toBeGreaterThan(2);

      await jest.advanceTimersByTimeAsync(10 * 60_000);
      expect(store.setMany).toHaveBeenCalledTimes(attempts);

      // Dropped: the store (here: unreadable) decides again, and so the database.
      store.get.mockRejectedValue(new Error('down for good'));
      repository.isEnded.mockResolvedValue(true);
      await expect(revocations.isRevoked('s1')).resolves.toBe(true);
      expect(repository.isEnded).toHaveBeenCalledWith('s1', 3600);
    });

    it('stops retrying when the cache shuts down', async () => {
      jest.useFakeTimers();
      store.setMany.mockRejectedValueOnce(new Error('down'));

      await revocations.markRevoked(['s1']);
      cache.onApplicationShutdown();
      await jest.advanceTimersByTimeAsync(5_000);

      expect(store.setMany).toHaveBeenCalledTimes(1);
    });
  });

  describe('over a real CacheService and an in-memory Keyv', () => {
    let keyv: Keyv;

    beforeEach(() => {
      keyv = new Keyv({ throwOnErrors: true });
      cache = new CacheService(keyv, createCache({ stores: [keyv] }));
      revocations = new SessionRevocations(cache, repository as unknown as SessionsRepository, config);
    });

    it('marks sessions revoked until the mark expires', async () => {
      jest.useFakeTimers({ doNotFake: ['nextTick', 'setImmediate', 'queueMicrotask'] });

      await revocations.markRevoked(['s1']);

      await expect(revocations.isRevoked('s1')).resolves.toBe(true);
      await expect(revocations.isRevoked('s2')).resolves.toBe(false);
      await expect(keyv.get('revoked-session:s1')).resolves.toBe(1);
      expect(repository.isEnded).not.toHaveBeenCalled();

      jest.setSystemTime(Date.now() + MARK_TTL_MS + 1);
      await expect(revocations.isRevoked('s1')).resolves.toBe(false);
    });
  });
});
