import { Logger } from '@nestjs/common';
import { createCache } from 'cache-manager';
import { Keyv } from 'keyv';

import { CacheService } from '../../core/cache/cache.service.js';
import type { Cache, StrictStore } from '../../core/cache/cache.tokens.js';
import { loadConfig } from '../../core/config/config.js';
import { AppError } from '../../core/errors/app-error.js';
import {
  SessionRevocations,
  SYNC_INTERVAL_MS,
  SYNC_STALE_AFTER_MS,
  UNSTORED_MARK_WAIT_MS,
} from './session-revocations.js';
import type { SessionsRepository } from './sessions.repository.js';

const config = loadConfig({ NODE_ENV: 'test', ACCESS_TOKEN_TTL_SECONDS: '900', SESSION_IDLE_TTL_SECONDS: '3600' });
const MARK_TTL_MS = (900 + 60) * 1000;

type Repository = { isEnded: jest.Mock; listRevocationMarksPending: jest.Mock; clearRevocationMarksPending: jest.Mock };
type Store = { get: jest.Mock; setMany: jest.Mock; deleteMany: jest.Mock };

function fakeStore(): Store {
  return {
    get: jest.fn().mockResolvedValue(undefined),
    setMany: jest.fn().mockResolvedValue([true]),
    deleteMany: jest.fn().mockResolvedValue(true),
  };
}

function fakeRepository(): Repository {
  return {
    isEnded: jest.fn(),
    listRevocationMarksPending: jest.fn().mockResolvedValue([]),
    clearRevocationMarksPending: jest.fn().mockResolvedValue(undefined),
  };
}

function replica(store: Store, repository: Repository): SessionRevocations {
  const cache = new CacheService(store as unknown as StrictStore, { wrap: jest.fn() } as unknown as Cache);
  return new SessionRevocations(cache, repository as unknown as SessionsRepository, config);
}

const never = () => new Promise<never>(() => undefined);

describe('SessionRevocations', () => {
  let store: Store;
  let repository: Repository;
  let revocations: SessionRevocations;
  let started: SessionRevocations[];
  let warn: jest.SpiedFunction<Logger['warn']>;

  /** Starts a replica's sync loop (its first load included); stopped after the test. */
  const start = async (instance: SessionRevocations) => {
    started.push(instance);
    await instance.onApplicationBootstrap();
    return instance;
  };

  beforeEach(() => {
    jest.useFakeTimers();
    store = fakeStore();
    repository = fakeRepository();
    revocations = replica(store, repository);
    started = [];
    warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    jest.spyOn(Logger.prototype, 'log').mockImplementation(() => undefined);
  });

  afterEach(async () => {
    // Shutdown waits (a bounded time) for a write in flight: let the fake clock run meanwhile.
    await Promise.all([...started.map((instance) => instance.onModuleDestroy()), jest.advanceTimersByTimeAsync(5_000)]);
    jest.restoreAllMocks();
    jest.useRealTimers();
  });

  it('answers only after every replica had time to load or go stale, whatever the timers', () => {
    // The whole guarantee for a mark Redis refused: a replica that has not loaded it by then has no fresh load either.
    expect(UNSTORED_MARK_WAIT_MS).toBeGreaterThanOrEqual(SYNC_STALE_AFTER_MS);
    expect(SYNC_STALE_AFTER_MS).toBeGreaterThan(SYNC_INTERVAL_MS);
  });

  describe('isRevoked on a replica in sync', () => {
    beforeEach(() => start(revocations));

    it('is true when the store holds a mark for the session', async () => {
      store.get.mockResolvedValue(1);

      await expect(revocations.isRevoked('s1')).resolves.toBe(true);
      expect(store.get).toHaveBeenCalledWith('revoked-session:s1');
      expect(repository.isEnded).not.toHaveBeenCalled();
    });

    it('is false when the store has no mark', async () => {
      await expect(revocations.isRevoked('s1')).resolves.toBe(false);
      expect(repository.isEnded).not.toHaveBeenCalled();
    });

    it.each([true, false])('asks the database (answer %s) when the store cannot be read', async (ended) => {
      store.get.mockRejectedValue(new Error('redis is down'));
      repository.isEnded.mockResolvedValue(ended);

      await expect(revocations.isRevoked('s1')).resolves.toBe(ended);
      expect(repository.isEnded).toHaveBeenCalledWith('s1', 3600);
    });

    it('asks the database when the store does not answer within a second', async () => {
      store.get.mockImplementation(never);
      repository.isEnded.mockResolvedValue(true);

      const revoked = revocations.isRevoked('s1');
      await jest.advanceTimersByTimeAsync(1_000);

      await expect(revoked).resolves.toBe(true);
    });

    it('answers 503 SERVICE_UNAVAILABLE (never "not revoked", never 401) when neither the store nor the database can', async () => {
      store.get.mockRejectedValue(new Error('redis is down'));
      repository.isEnded.mockRejectedValue(new Error('connect ECONNREFUSED'));

      const failure = await revocations.isRevoked('s1').catch((thrown: unknown) => thrown);

      expect(failure).toBeInstanceOf(AppError);
      expect(failure).toMatchObject({ status: 503, code: 'SERVICE_UNAVAILABLE', retryAfterSeconds: 2 });
    });

    it('never goes through the lenient cache-manager view (an outage must not read as "not revoked")', async () => {
      const keyv = new Keyv({ throwOnErrors: true });
      const lenient = { wrap: jest.fn() };
      jest.spyOn(keyv, 'get').mockRejectedValue(new Error('redis is down'));
      const instance = new SessionRevocations(
        new CacheService(keyv, lenient as unknown as Cache),
        repository as unknown as SessionsRepository,
        config,
      );
      repository.isEnded.mockResolvedValue(true);

      await expect(instance.isRevoked('s1')).resolves.toBe(true);
      expect(lenient.wrap).not.toHaveBeenCalled();
    });
  });

  describe('isRevoked on a replica that may be missing pending sessions', () => {
    it('asks the database before its first load', async () => {
      repository.isEnded.mockResolvedValue(true);

      await expect(revocations.isRevoked('s1')).resolves.toBe(true);
      expect(repository.isEnded).toHaveBeenCalledWith('s1', 3600);
    });

    it('asks the database once its loads have failed for longer than SYNC_STALE_AFTER_MS, and stops once one succeeds', async () => {
      await start(revocations);
      repository.listRevocationMarksPending.mockRejectedValue(new Error('connect ECONNREFUSED'));
      repository.isEnded.mockResolvedValue(false);

      await jest.advanceTimersByTimeAsync(SYNC_STALE_AFTER_MS - 1);
      await revocations.isRevoked('s1');
      expect(repository.isEnded).not.toHaveBeenCalled();

      await jest.advanceTimersByTimeAsync(1);
      await expect(revocations.isRevoked('s1')).resolves.toBe(false);
      expect(repository.isEnded).toHaveBeenCalledTimes(1);
      expect(warn).toHaveBeenCalledTimes(1);

      repository.listRevocationMarksPending.mockResolvedValue([]);
      await jest.advanceTimersByTimeAsync(SYNC_INTERVAL_MS);
      await revocations.isRevoked('s1');
      expect(repository.isEnded).toHaveBeenCalledTimes(1);
    });

    it('counts a load as fresh from when it started, not from when it answered', async () => {
      await start(revocations);
      let answer!: () => void;
      repository.listRevocationMarksPending.mockImplementationOnce(() => new Promise((resolve) => (answer = () => resolve([]))));
      repository.isEnded.mockResolvedValue(false);

      // The next load starts one interval after the first and hangs for SYNC_STALE_AFTER_MS.
      await jest.advanceTimersByTimeAsync(SYNC_INTERVAL_MS + SYNC_STALE_AFTER_MS);
      answer();
      await jest.advanceTimersByTimeAsync(0);

      await revocations.isRevoked('s1');
      expect(repository.isEnded).toHaveBeenCalledTimes(1);
    });

    it('still answers from a mark in the store while the database is away', async () => {
      store.get.mockResolvedValue(1);
      repository.isEnded.mockRejectedValue(new Error('connect ECONNREFUSED'));

      await expect(revocations.isRevoked('s1')).resolves.toBe(true);
    });

    it('answers 503 when the database is away and the store has no mark', async () => {
      repository.isEnded.mockRejectedValue(new Error('connect ECONNREFUSED'));

      await expect(revocations.isRevoked('s1')).rejects.toMatchObject({ status: 503, code: 'SERVICE_UNAVAILABLE' });
    });
  });

  describe('markRevoked', () => {
    beforeEach(() => start(revocations));

    it('does nothing for no sessions', async () => {
      await revocations.markRevoked([]);

      expect(store.setMany).not.toHaveBeenCalled();
      expect(repository.clearRevocationMarksPending).not.toHaveBeenCalled();
    });

    it('writes one mark per session that outlives every access token, clears their flags, and answers at once', async () => {
      await revocations.markRevoked(['s1', 's2']);

      expect(store.setMany).toHaveBeenCalledWith([
        { key: 'revoked-session:s1', value: 1, ttl: MARK_TTL_MS },
        { key: 'revoked-session:s2', value: 1, ttl: MARK_TTL_MS },
      ]);
      expect(repository.clearRevocationMarksPending).toHaveBeenCalledWith(['s1', 's2']);
    });

    it('answers even when clearing the flags fails (the sync clears them)', async () => {
      repository.clearRevocationMarksPending.mockRejectedValueOnce(new Error('connect ECONNREFUSED'));

      await expect(revocations.markRevoked(['s1'])).resolves.toBeUndefined();
    });

    it.each([
      ['refuses', () => Promise.reject(new Error('redis is down')), 0],
      ['does not answer', never, 1_000],
    ])('when the store %s: refuses at once here, keeps the flags, and answers only after UNSTORED_MARK_WAIT_MS', async (_, write, failsAfterMs) => {
      store.setMany.mockImplementationOnce(write);
      let answered = false;
      const marking = revocations.markRevoked(['s1']).then(() => (answered = true));

      await jest.advanceTimersByTimeAsync(failsAfterMs);
      await expect(revocations.isRevoked('s1')).resolves.toBe(true);
      expect(warn).toHaveBeenCalledWith(expect.stringContaining('not stored in Redis'));

      await jest.advanceTimersByTimeAsync(UNSTORED_MARK_WAIT_MS - 1);
      expect(answered).toBe(false);
      await jest.advanceTimersByTimeAsync(1);
      await marking;
      expect(answered).toBe(true);
      // The flags are the record every replica reads: only the sync clears them, once a mark is stored.
      expect(repository.clearRevocationMarksPending).not.toHaveBeenCalledWith(['s1']);
      await expect(revocations.isRevoked('s2')).resolves.toBe(false);
    });
  });

  describe('sync', () => {
    it('loads the pending sessions at start and every second, refuses them, stores their marks for what is left of their lifetime, and clears the flags', async () => {
      repository.listRevocationMarksPending.mockResolvedValueOnce([]).mockResolvedValueOnce([{ id: 's1', markTtlMs: 90_000 }]);
      await start(revocations);
      expect(repository.listRevocationMarksPending).toHaveBeenCalledWith(960);
      expect(store.setMany).not.toHaveBeenCalled();

      await jest.advanceTimersByTimeAsync(SYNC_INTERVAL_MS);

      expect(repository.listRevocationMarksPending).toHaveBeenCalledTimes(2);
      await expect(revocations.isRevoked('s1')).resolves.toBe(true);
      expect(store.get).not.toHaveBeenCalled();
      expect(store.setMany).toHaveBeenCalledWith([{ key: 'revoked-session:s1', value: 1, ttl: 90_000 }]);
      expect(repository.clearRevocationMarksPending).toHaveBeenCalledWith(['s1']);
    });

    it('clears the flags of sessions whose tokens have all expired, without storing anything', async () => {
      repository.listRevocationMarksPending.mockResolvedValueOnce([
        { id: 'old', markTtlMs: -5 },
        { id: 'gone', markTtlMs: 0 },
      ]);
      await start(revocations);
      await jest.advanceTimersByTimeAsync(0);

      expect(store.setMany).not.toHaveBeenCalled();
      expect(repository.clearRevocationMarksPending).toHaveBeenCalledWith(['old', 'gone']);
    });

    it('keeps the flags while the store refuses, tries again every second, and clears them once stored', async () => {
      repository.listRevocationMarksPending.mockResolvedValue([{ id: 's1', markTtlMs: 90_000 }]);
      store.setMany.mockRejectedValueOnce(new Error('down')).mockRejectedValueOnce(new Error('down'));
      await start(revocations);
      await jest.advanceTimersByTimeAsync(SYNC_INTERVAL_MS);
      expect(store.setMany).toHaveBeenCalledTimes(2);
      expect(repository.clearRevocationMarksPending).not.toHaveBeenCalled();

      await jest.advanceTimersByTimeAsync(SYNC_INTERVAL_MS);
      expect(store.setMany).toHaveBeenCalledTimes(3);
      expect(repository.clearRevocationMarksPending).toHaveBeenCalledWith(['s1']);
    });

    it('goes on loading while a store write hangs (one write at a time)', async () => {
      repository.listRevocationMarksPending.mockResolvedValue([{ id: 's1', markTtlMs: 90_000 }]);
      store.setMany.mockImplementation(never);
      repository.isEnded.mockResolvedValue(false);
      await start(revocations);

      await jest.advanceTimersByTimeAsync(10 * SYNC_INTERVAL_MS);

      expect(repository.listRevocationMarksPending.mock.calls.length).toBeGreaterThanOrEqual(10);
      await revocations.isRevoked('s2');
      expect(repository.isEnded).not.toHaveBeenCalled();
    });

    it('forgets a session once every token it had has expired', async () => {
      repository.listRevocationMarksPending.mockResolvedValueOnce([{ id: 's1', markTtlMs: 5_000 }]);
      store.setMany.mockRejectedValue(new Error('down'));
      store.get.mockResolvedValue(undefined);
      await start(revocations);
      await expect(revocations.isRevoked('s1')).resolves.toBe(true);

      await jest.advanceTimersByTimeAsync(6_000);

      await expect(revocations.isRevoked('s1')).resolves.toBe(false);
    });

    it('stops at shutdown', async () => {
      await start(revocations);
      await revocations.onModuleDestroy();
      const loads = repository.listRevocationMarksPending.mock.calls.length;

      await jest.advanceTimersByTimeAsync(10 * SYNC_INTERVAL_MS);

      expect(repository.listRevocationMarksPending).toHaveBeenCalledTimes(loads);
    });
  });

  describe('two replicas over one database', () => {
    it("refuses a token on the other replica by the time a sign-out whose mark Redis refused answers, though that replica's Redis has no mark", async () => {
      // The database: sessions whose marks are pending (set by the statement that ends them).
      const flagged = new Map<string, number>();
      const database = (): Repository => ({
        isEnded: jest.fn().mockResolvedValue(true),
        listRevocationMarksPending: jest.fn(async () => [...flagged].map(([id, markTtlMs]) => ({ id, markTtlMs }))),
        clearRevocationMarksPending: jest.fn(async (ids: string[]) => ids.forEach((id) => flagged.delete(id))),
      });
      const writerStore = fakeStore();
      writerStore.setMany.mockRejectedValue(new Error('redis is cut off from this replica'));
      const otherStore = fakeStore();
      // The other replica's Redis is healthy but never gets a mark (its own writes are dropped here).
      otherStore.setMany.mockRejectedValue(new Error('not this time'));
      const writer = await start(replica(writerStore, database()));
      const otherRepository = database();
      const other = await start(replica(otherStore, otherRepository));
      // The other replica just loaded: the commit below happens right after its load started.
      await jest.advanceTimersByTimeAsync(SYNC_INTERVAL_MS - 1);

      flagged.set('s1', MARK_TTL_MS);
      let answered = false;
      const marking = writer.markRevoked(['s1']).then(() => (answered = true));
      while (!answered) await jest.advanceTimersByTimeAsync(100);
      await marking;

      await expect(other.isRevoked('s1')).resolves.toBe(true);
      expect(otherRepository.isEnded).not.toHaveBeenCalled();
      expect(otherStore.get).not.toHaveBeenCalled();
      expect(flagged.has('s1')).toBe(true);
    });
  });

  describe('over a real CacheService and an in-memory Keyv', () => {
    it('marks sessions revoked until the mark expires', async () => {
      jest.useFakeTimers({ doNotFake: ['nextTick', 'setImmediate', 'queueMicrotask'] });
      const keyv = new Keyv({ throwOnErrors: true });
      const instance = await start(
        new SessionRevocations(
          new CacheService(keyv, createCache({ stores: [keyv] })),
          repository as unknown as SessionsRepository,
          config,
        ),
      );

      await instance.markRevoked(['s1']);

      await expect(instance.isRevoked('s1')).resolves.toBe(true);
      await expect(instance.isRevoked('s2')).resolves.toBe(false);
      await expect(keyv.get('revoked-session:s1')).resolves.toBe(1);
      expect(repository.isEnded).not.toHaveBeenCalled();

      // Keyv expires by the wall clock; the replica is still in sync (no timer has run).
      jest.setSystemTime(Date.now() + MARK_TTL_MS + 1);
      await expect(instance.isRevoked('s1')).resolves.toBe(false);
    });
  });
});
