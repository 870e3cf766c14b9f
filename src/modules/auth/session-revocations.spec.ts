import { Logger } from '@nestjs/common';

import type { StrictStore } from '../../core/cache/cache.module.js';
import { loadConfig } from '../../core/config/config.js';
import { SessionRevocations } from './session-revocations.js';
import type { SessionsRepository } from './sessions.repository.js';

const config = loadConfig({ NODE_ENV: 'test', ACCESS_TOKEN_TTL_SECONDS: '900', SESSION_IDLE_TTL_SECONDS: '3600' });
const MARK_TTL_MS = (900 + 60) * 1000;

describe('SessionRevocations', () => {
  let store: { get: jest.Mock; setMany: jest.Mock };
  let repository: { isEnded: jest.Mock };
  let revocations: SessionRevocations;
  let warn: jest.SpiedFunction<Logger['warn']>;

  beforeEach(() => {
    store = { get: jest.fn().mockResolvedValue(undefined), setMany: jest.fn().mockResolvedValue([true]) };
    repository = { isEnded: jest.fn() };
    revocations = new SessionRevocations(store as unknown as StrictStore, repository as unknown as SessionsRepository, config);
    warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
  });

  afterEach(() => {
    revocations.onApplicationShutdown();
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
    });

    it('stops retrying on shutdown', async () => {
      jest.useFakeTimers();
      store.setMany.mockRejectedValueOnce(new Error('down'));

      await revocations.markRevoked(['s1']);
      revocations.onApplicationShutdown();
      await jest.advanceTimersByTimeAsync(5_000);

      expect(store.setMany).toHaveBeenCalledTimes(1);
    });
  });
});
