import { Logger } from '@nestjs/common';

import { loadConfig } from '../../core/config/config.js';
import { SuspensionSweep } from './suspension-sweep.js';
import type { UsersService } from './users.service.js';

const config = loadConfig({ NODE_ENV: 'test', SUSPENSION_SWEEP_SECONDS: '60' });

/** A promise and the functions that settle it. */
function deferred<T>() {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** Lets every already-settled promise callback run. */
const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('SuspensionSweep', () => {
  let users: { liftLapsedSuspensions: jest.Mock<Promise<number>, []> };
  let sweep: SuspensionSweep;
  let log: jest.SpiedFunction<Logger['log']>;
  let warn: jest.SpiedFunction<Logger['warn']>;

  beforeEach(() => {
    users = { liftLapsedSuspensions: jest.fn().mockResolvedValue(0) };
    sweep = new SuspensionSweep(users as unknown as UsersService, config);
    log = jest.spyOn(Logger.prototype, 'log').mockImplementation(() => undefined);
    warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
  });

  afterEach(async () => {
    await sweep.onApplicationShutdown();
    jest.restoreAllMocks();
  });

  it('lifts lapsed suspensions and logs how many', async () => {
    users.liftLapsedSuspensions.mockResolvedValue(3);

    await sweep.sweep();

    expect(users.liftLapsedSuspensions).toHaveBeenCalledTimes(1);
    expect(log).toHaveBeenCalledWith('lifted 3 lapsed suspension(s)');
  });

  it('logs nothing when there was nothing to lift', async () => {
    await sweep.sweep();

    expect(log).not.toHaveBeenCalled();
    expect(warn).not.toHaveBeenCalled();
  });

  it('does not start a second pass while one is running, and starts the next one after it', async () => {
    const pass = deferred<number>();
    users.liftLapsedSuspensions.mockReturnValueOnce(pass.promise);

    const first = sweep.sweep();
    const second = sweep.sweep();

    expect(second).toBe(first);
    expect(users.liftLapsedSuspensions).toHaveBeenCalledTimes(1);

    pass.resolve(1);
    await first;
    await sweep.sweep();

    expect(users.liftLapsedSuspensions).toHaveBeenCalledTimes(2);
  });

  it('logs a failed pass instead of throwing it, and tries again at the next pass', async () => {
    const failure = new Error('database is down');
    users.liftLapsedSuspensions.mockRejectedValueOnce(failure);

    await expect(sweep.sweep()).resolves.toBeUndefined();

    expect(warn).toHaveBeenCalledWith({ err: failure }, expect.stringContaining('lifting lapsed suspensions failed'));
    await sweep.sweep();
    expect(users.liftLapsedSuspensions).toHaveBeenCalledTimes(2);
  });

  it('on shutdown, waits for the running pass to end', async () => {
    const pass = deferred<number>();
    users.liftLapsedSuspensions.mockReturnValueOnce(pass.promise);
    void sweep.sweep();

    let stopped = false;
    const shutdown = sweep.onApplicationShutdown().then(() => (stopped = true));
    await settle();
    expect(stopped).toBe(false);

    pass.resolve(0);
    await shutdown;
    expect(stopped).toBe(true);
  });

  it('on shutdown, waits for a running pass that fails, without throwing', async () => {
    const pass = deferred<number>();
    users.liftLapsedSuspensions.mockReturnValueOnce(pass.promise);
    void sweep.sweep();

    const shutdown = sweep.onApplicationShutdown();
    pass.reject(new Error('connection terminated'));

    await expect(shutdown).resolves.toBeUndefined();
    expect(warn).toHaveBeenCalledTimes(1);
  });

  it('shuts down at once when no pass is running', async () => {
    await expect(sweep.onApplicationShutdown()).resolves.toBeUndefined();
  });

  describe('the timer', () => {
    beforeEach(() => jest.useFakeTimers());
    afterEach(() => jest.useRealTimers());

    it('runs a pass every SUSPENSION_SWEEP_SECONDS from bootstrap until shutdown', async () => {
      sweep.onApplicationBootstrap();
      expect(jest.getTimerCount()).toBe(1);
      expect(users.liftLapsedSuspensions).not.toHaveBeenCalled();

      await jest.advanceTimersByTimeAsync(60_000);
      expect(users.liftLapsedSuspensions).toHaveBeenCalledTimes(1);
      await jest.advanceTimersByTimeAsync(60_000);
      expect(users.liftLapsedSuspensions).toHaveBeenCalledTimes(2);

      await sweep.onApplicationShutdown();
      expect(jest.getTimerCount()).toBe(0);
      await jest.advanceTimersByTimeAsync(180_000);
      expect(users.liftLapsedSuspensions).toHaveBeenCalledTimes(2);
    });

    it('skips the ticks that come while a pass is still running', async () => {
      const pass = deferred<number>();
      users.liftLapsedSuspensions.mockReturnValueOnce(pass.promise);
      sweep.onApplicationBootstrap();

      await jest.advanceTimersByTimeAsync(60_000 * 3);
      expect(users.liftLapsedSuspensions).toHaveBeenCalledTimes(1);

      pass.resolve(0);
      await jest.advanceTimersByTimeAsync(60_000);
      expect(users.liftLapsedSuspensions).toHaveBeenCalledTimes(2);
    });
  });
});
