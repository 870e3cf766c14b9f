import { EventEmitter } from 'node:events';

import { Logger } from '@nestjs/common';

import { ConfigError } from '../config/config.js';
import { EvictingRedisError, type RedisConfigClient, readEvictionPolicy, requireNoEviction } from './redis-eviction-policy.js';

/** A node-redis client as far as the check uses it: ready or not, and CONFIG GET answered by configGet. */
class FakeClient extends EventEmitter implements RedisConfigClient {
  isReady = true;
  readonly configGet = jest.fn<Promise<Record<string, string>>, [string]>();

  constructor(policy?: string) {
    super();
    if (policy) this.configGet.mockResolvedValue({ 'maxmemory-policy': policy });
  }

  connect(): void {
    this.isReady = true;
    this.emit('ready');
  }
}

const settle = () => new Promise((resolve) => setImmediate(resolve));

describe('Redis maxmemory-policy check', () => {
  let logger: Logger;
  let warn: jest.SpiedFunction<Logger['warn']>;
  let error: jest.SpiedFunction<Logger['error']>;

  beforeEach(() => {
    logger = new Logger('Cache');
    warn = jest.spyOn(logger, 'warn').mockImplementation(() => undefined);
    error = jest.spyOn(logger, 'error').mockImplementation(() => undefined);
  });

  it('passes on noeviction, asking for exactly that setting', async () => {
    const client = new FakeClient('noeviction');

    await expect(requireNoEviction(client, logger, 1_000)).resolves.toBeUndefined();

    expect(client.configGet).toHaveBeenCalledWith('maxmemory-policy');
    expect(warn).not.toHaveBeenCalled();
  });

  it.each(['allkeys-lru', 'allkeys-lfu', 'allkeys-random', 'volatile-lru', 'volatile-lfu', 'volatile-random', 'volatile-ttl'])(
    'fails the start on %s with one line naming the setting',
    async (policy) => {
      const failure = await requireNoEviction(new FakeClient(policy), logger, 1_000).catch((thrown: unknown) => thrown);

      expect(failure).toBeInstanceOf(EvictingRedisError);
      // A ConfigError: main.ts prints its message alone.
      expect(failure).toBeInstanceOf(ConfigError);
      const { message } = failure as Error;
      expect(message).not.toContain('\n');
      expect(message).toContain(`maxmemory-policy is "${policy}"`);
      expect(message).toContain('noeviction');
    },
  );

  it('only warns when CONFIG is not allowed (managed Redis), saying what could not be verified', async () => {
    const client = new FakeClient();
    client.configGet.mockRejectedValue(new Error("ERR unknown command 'CONFIG'"));

    await expect(requireNoEviction(client, logger, 1_000)).resolves.toBeUndefined();

    expect(warn).toHaveBeenCalledTimes(1);
    expect(warn.mock.calls[0]![0]).toMatch(/could not verify that Redis maxmemory-policy is noeviction \(ERR unknown command 'CONFIG'\)/);
  });

  it('reads an empty answer as unverified', async () => {
    const client = new FakeClient();
    client.configGet.mockResolvedValue({});

    await expect(readEvictionPolicy(client)).resolves.toEqual({ unverified: expect.stringContaining('returned nothing') });
  });

  it('waits for the connection, then checks', async () => {
    const client = new FakeClient('allkeys-lru');
    client.isReady = false;

    const checked = requireNoEviction(client, logger, 1_000).catch((thrown: unknown) => thrown);
    await settle();
    expect(client.configGet).not.toHaveBeenCalled();
    client.connect();

    await expect(checked).resolves.toBeInstanceOf(EvictingRedisError);
  });

  it('starts with a warning while Redis is unreachable, and logs an error when it connects with an evicting policy', async () => {
    jest.useFakeTimers();
    try {
      const client = new FakeClient('volatile-lru');
      client.isReady = false;

      const checked = requireNoEviction(client, logger, 2_000);
      await jest.advanceTimersByTimeAsync(2_000);
      await expect(checked).resolves.toBeUndefined();
      expect(warn.mock.calls[0]![0]).toMatch(/could not verify .*Redis is not reachable yet/);
      expect(client.configGet).not.toHaveBeenCalled();

      client.connect();
      await jest.advanceTimersByTimeAsync(0);
      expect(error).toHaveBeenCalledWith(expect.stringContaining('maxmemory-policy is "volatile-lru"'));
    } finally {
      jest.useRealTimers();
    }
  });

  it('checks again on every reconnect (a restarted Redis may come back configured otherwise)', async () => {
    const client = new FakeClient('noeviction');
    await requireNoEviction(client, logger, 1_000);

    client.emit('ready');
    await settle();
    expect(error).not.toHaveBeenCalled();

    client.configGet.mockResolvedValue({ 'maxmemory-policy': 'allkeys-lru' });
    client.emit('ready');
    await settle();
    expect(error).toHaveBeenCalledWith(expect.stringContaining('maxmemory-policy is "allkeys-lru"'));
  });
});
