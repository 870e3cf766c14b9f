import { randomUUID } from 'node:crypto';

import bcrypt from 'bcrypt';
import type { EntityManager } from 'typeorm';

import { PasswordHasher } from '../../core/auth/password-hasher.js';
import { loadConfig } from '../../core/config/config.js';
import { AppError } from '../../core/errors/app-error.js';
import { IdempotencyService } from '../../core/idempotency/idempotency.service.js';
import type { MetricsService } from '../../core/metrics/metrics.service.js';
import type { UserStatus } from '../users/user.entity.js';
import type { UsersService } from '../users/users.service.js';
import type { UserWithPassword } from '../users/users.repository.js';
import type { AccountRecoveryService } from './account-recovery.service.js';
import { AuthService } from './auth.service.js';
import type { ClientInfo } from '../../core/http/client-info.js';
import type { TokensResponse } from './dto/auth.response.js';
import type { LoginLockout } from './login-lockout.js';
import type { SessionsService } from '../sessions/sessions.service.js';
import { rejectionOf } from '../../../test/utils/errors.js';

const config = loadConfig({ NODE_ENV: 'test', BCRYPT_COST: '4' });
const PASSWORD = 'correct-horse-battery-staple';
const client: ClientInfo = { ip: '203.0.113.7', userAgent: 'jest' };
const manager = { name: 'fake-manager' } as unknown as EntityManager;
const issued: TokensResponse = { accessToken: 'header.payload.signature', refreshToken: 'refresh', tokenType: 'Bearer', expiresIn: 900 };

let hasher: PasswordHasher;
let hashAtCost4: string;

beforeAll(async () => {
  hasher = new PasswordHasher(config);
  await hasher.onModuleInit();
  hashAtCost4 = await hasher.hash(PASSWORD);
});

function userWith(overrides: { status?: UserStatus; statusUntil?: Date | null; passwordHash?: string } = {}): UserWithPassword {
  return {
    id: randomUUID(),
    email: 'ada@example.com',
    name: 'Ada Lovelace',
    mobile: null,
    role: 'user',
    status: 'active',
    statusReason: null,
    statusUntil: null,
    emailVerified: false,
    createdAt: new Date('2026-01-01T00:00:00Z'),
    updatedAt: new Date('2026-01-02T00:00:00Z'),
    passwordHash: hashAtCost4,
    ...overrides,
  };
}

describe('AuthService', () => {
  let users: { findForPasswordCheck: jest.Mock; reactivate: jest.Mock; rehashPasswordWithin: jest.Mock; create: jest.Mock };
  let sessions: { transaction: jest.Mock; start: jest.Mock; signIn: jest.Mock; end: jest.Mock };
  let idempotency: { claim: jest.Mock; complete: jest.Mock; once: IdempotencyService['once'] };
  let metrics: { countLogin: jest.Mock };
  let recovery: { requestVerification: jest.Mock };
  let lockout: { retryAfterSeconds: jest.Mock; recordFailure: jest.Mock; recordSuccess: jest.Mock };
  let verify: jest.SpiedFunction<PasswordHasher['verify']>;
  let service: AuthService;

  beforeEach(() => {
    users = {
      findForPasswordCheck: jest.fn().mockResolvedValue(null),
      reactivate: jest.fn().mockResolvedValue(undefined),
      rehashPasswordWithin: jest.fn().mockResolvedValue(undefined),
      create: jest.fn(),
    };
    sessions = {
      transaction: jest.fn(<T>(work: (m: EntityManager) => Promise<T>) => work(manager)),
      start: jest.fn().mockResolvedValue(issued),
      signIn: jest.fn().mockResolvedValue({ tokens: issued, role: 'user' }),
      end: jest.fn().mockResolvedValue([]),
    };
    // The real once() over mocked claim() and complete().
    idempotency = {
      claim: jest.fn().mockResolvedValue(undefined),
      complete: jest.fn().mockResolvedValue(undefined),
      once: IdempotencyService.prototype.once,
    };
    metrics = { countLogin: jest.fn() };
    recovery = { requestVerification: jest.fn().mockResolvedValue(undefined) };
    lockout = {
      retryAfterSeconds: jest.fn().mockResolvedValue(0),
      recordFailure: jest.fn().mockResolvedValue(undefined),
      recordSuccess: jest.fn().mockResolvedValue(undefined),
    };
    verify = jest.spyOn(hasher, 'verify');
    service = new AuthService(
      users as unknown as UsersService,
      sessions as unknown as SessionsService,
      hasher,
      idempotency as unknown as IdempotencyService,
      metrics as unknown as MetricsService,
      recovery as unknown as AccountRecoveryService,
      lockout as unknown as LoginLockout,
    );
  });

  afterEach(() => verify.mockRestore());

  describe('login', () => {
    it('signs in with the right password over the hash it checked, clearing the address of failures', async () => {
      const user = userWith();
      users.findForPasswordCheck.mockResolvedValue(user);

      const response = await service.login({ email: user.email, password: PASSWORD }, client);

      expect(lockout.retryAfterSeconds).toHaveBeenCalledWith(user.email, client.ip);
      expect(users.findForPasswordCheck).toHaveBeenCalledWith({ email: user.email });
      // No re-hash at the configured cost: nothing to run under the lock.
      expect(sessions.signIn).toHaveBeenCalledWith(user.id, client, user.passwordHash, undefined);
      expect(sessions.start).not.toHaveBeenCalled();
      expect(response).toEqual({
        ...issued,
        user: {
          id: user.id,
          email: user.email,
          name: user.name,
          mobile: null,
          role: 'user',
          status: 'active',
          emailVerified: false,
          createdAt: '2026-01-01T00:00:00.000Z',
          updatedAt: '2026-01-02T00:00:00.000Z',
        },
      });
      expect(response.user).not.toHaveProperty('passwordHash');
      expect(lockout.recordSuccess).toHaveBeenCalledWith(user.email, client.ip);
      expect(lockout.recordFailure).not.toHaveBeenCalled();
      expect(metrics.countLogin.mock.calls).toEqual([['success']]);
      expect(users.rehashPasswordWithin).not.toHaveBeenCalled();
      expect(users.reactivate).not.toHaveBeenCalled();
    });

    it('answers an unknown email with 401 INVALID_CREDENTIALS after one full password check, counting a failure', async () => {
      users.findForPasswordCheck.mockResolvedValue(null);

      const error = await rejectionOf(service.login({ email: 'nobody@example.com', password: PASSWORD }, client));

      expect(error).toMatchObject({ code: 'INVALID_CREDENTIALS', status: 401 });
      expect(verify).toHaveBeenCalledTimes(1);
      expect(verify).toHaveBeenCalledWith(PASSWORD, undefined);
      await expect(verify.mock.results[0]!.value).resolves.toBe(false);
      expect(lockout.recordFailure).toHaveBeenCalledTimes(1);
      expect(lockout.recordFailure).toHaveBeenCalledWith('nobody@example.com', client.ip);
      expect(lockout.recordSuccess).not.toHaveBeenCalled();
      expect(metrics.countLogin).toHaveBeenCalledTimes(1);
      expect(metrics.countLogin).toHaveBeenCalledWith('invalid_credentials');
      expect(sessions.signIn).not.toHaveBeenCalled();
    });

    it('answers a wrong password exactly as an unknown email, counting both as failures', async () => {
      const user = userWith();
      users.findForPasswordCheck.mockResolvedValue(user);

      const wrong = await rejectionOf(service.login({ email: user.email, password: 'not-the-password-1' }, client));
      users.findForPasswordCheck.mockResolvedValue(null);
      const unknown = await rejectionOf(service.login({ email: 'nobody@example.com', password: PASSWORD }, client));

      expect(wrong).toMatchObject({ code: 'INVALID_CREDENTIALS', status: 401 });
      expect({ code: wrong.code, status: wrong.status, detail: wrong.detail }).toEqual({
        code: unknown.code,
        status: unknown.status,
        detail: unknown.detail,
      });
      expect(verify).toHaveBeenCalledTimes(2);
      expect(verify).toHaveBeenNthCalledWith(1, 'not-the-password-1', user.passwordHash);
      expect(lockout.recordFailure.mock.calls).toEqual([
        [user.email, client.ip],
        ['nobody@example.com', client.ip],
      ]);
      expect(lockout.recordSuccess).not.toHaveBeenCalled();
      expect(metrics.countLogin.mock.calls).toEqual([['invalid_credentials'], ['invalid_credentials']]);
      expect(sessions.signIn).not.toHaveBeenCalled();
    });

    it('answers only once the failure is counted, so the next attempt sees it', async () => {
      users.findForPasswordCheck.mockResolvedValue(userWith());
      let reached!: () => void;
      const failureReached = new Promise<void>((resolve) => (reached = resolve));
      let counted!: () => void;
      lockout.recordFailure.mockImplementation(() => {
        reached();
        return new Promise<void>((resolve) => (counted = resolve));
      });
      let settled = false;

      const login = service.login({ email: 'ada@example.com', password: 'not-the-password-1' }, client).finally(() => (settled = true));
      await failureReached;
      await new Promise((resolve) => setImmediate(resolve));
      expect(settled).toBe(false);
      counted();

      await expect(rejectionOf(login)).resolves.toMatchObject({ code: 'INVALID_CREDENTIALS' });
    });

    it('counts a sign-in without a client address under the address null', async () => {
      users.findForPasswordCheck.mockResolvedValue(null);
      const unknownAddress: ClientInfo = { ip: null, userAgent: null };

      await rejectionOf(service.login({ email: 'nobody@example.com', password: PASSWORD }, unknownAddress));

      expect(lockout.retryAfterSeconds).toHaveBeenCalledWith('nobody@example.com', null);
      expect(lockout.recordFailure).toHaveBeenCalledWith('nobody@example.com', null);
    });

    describe('while the address is locked out of the account', () => {
      let hash: jest.SpiedFunction<PasswordHasher['hash']>;
      let compare: jest.SpiedFunction<typeof bcrypt.compare>;

      beforeEach(() => {
        lockout.retryAfterSeconds.mockResolvedValue(120);
        hash = jest.spyOn(hasher, 'hash');
        compare = jest.spyOn(bcrypt, 'compare');
      });

      afterEach(() => {
        hash.mockRestore();
        compare.mockRestore();
      });

      it.each([
        ['the right password', 'ada@example.com', PASSWORD],
        ['a wrong password', 'ada@example.com', 'not-the-password-1'],
        ['an unknown email', 'nobody@example.com', PASSWORD],
      ])('refuses %s with 429 RATE_LIMITED and Retry-After before any password check', async (_label, email, password) => {
        users.findForPasswordCheck.mockResolvedValue(userWith());

        const error = await rejectionOf(service.login({ email, password }, client));

        expect(error).toMatchObject({ code: 'RATE_LIMITED', status: 429, retryAfterSeconds: 120 });
        expect(lockout.retryAfterSeconds).toHaveBeenCalledWith(email, client.ip);
        expect(users.findForPasswordCheck).not.toHaveBeenCalled();
        expect(verify).not.toHaveBeenCalled();
        expect(compare).not.toHaveBeenCalled();
        expect(hash).not.toHaveBeenCalled();
        expect(sessions.signIn).not.toHaveBeenCalled();
        // Refusals are neither failures (the lock would grow on its own) nor successes.
        expect(lockout.recordFailure).not.toHaveBeenCalled();
        expect(lockout.recordSuccess).not.toHaveBeenCalled();
        expect(metrics.countLogin.mock.calls).toEqual([['locked_out']]);
      });

      it('gives the same answer whatever the password and whether the account exists', async () => {
        users.findForPasswordCheck.mockResolvedValue(userWith());
        const right = await rejectionOf(service.login({ email: 'ada@example.com', password: PASSWORD }, client));
        const unknown = await rejectionOf(service.login({ email: 'nobody@example.com', password: 'x-wrong-1' }, client));

        const shape = (e: AppError) => ({ code: e.code, status: e.status, detail: e.detail, retryAfterSeconds: e.retryAfterSeconds });
        expect(shape(right)).toEqual(shape(unknown));
      });
    });

    it('reveals a blocked account only to someone who knows its password (which clears the address of failures)', async () => {
      users.findForPasswordCheck.mockResolvedValue(userWith({ status: 'blocked' }));

      const wrong = await rejectionOf(service.login({ email: 'ada@example.com', password: 'not-the-password-1' }, client));
      expect(wrong).toMatchObject({ code: 'INVALID_CREDENTIALS', status: 401 });
      expect(lockout.recordFailure).toHaveBeenCalledTimes(1);

      const right = await rejectionOf(service.login({ email: 'ada@example.com', password: PASSWORD }, client));
      expect(right).toMatchObject({ code: 'ACCOUNT_BLOCKED', status: 403 });
      expect(lockout.recordFailure).toHaveBeenCalledTimes(1);
      expect(lockout.recordSuccess).toHaveBeenCalledWith('ada@example.com', client.ip);

      expect(metrics.countLogin.mock.calls).toEqual([['invalid_credentials'], ['account_blocked']]);
      expect(sessions.signIn).not.toHaveBeenCalled();
    });

    it.each([
      ['suspended', new Date(Date.now() + 3_600_000), 'ACCOUNT_SUSPENDED', 'account_suspended'],
      ['suspended', null, 'ACCOUNT_SUSPENDED', 'account_suspended'],
      ['deactivated', null, 'ACCOUNT_DEACTIVATED', 'account_deactivated'],
    ] as const)('refuses a %s account (until %s) with 403 %s', async (status, statusUntil, code, outcome) => {
      users.findForPasswordCheck.mockResolvedValue(userWith({ status, statusUntil }));

      const error = await rejectionOf(service.login({ email: 'ada@example.com', password: PASSWORD }, client));

      expect(error).toMatchObject({ code, status: 403 });
      expect(metrics.countLogin).toHaveBeenCalledWith(outcome);
      expect(users.reactivate).not.toHaveBeenCalled();
      expect(sessions.signIn).not.toHaveBeenCalled();
    });

    it('reactivates an account whose suspension has lapsed', async () => {
      const user = userWith({ status: 'suspended', statusUntil: new Date(Date.now() - 1000) });
      users.findForPasswordCheck.mockResolvedValue(user);

      const response = await service.login({ email: user.email, password: PASSWORD }, client);

      expect(users.reactivate).toHaveBeenCalledWith(user.id);
      expect(users.reactivate.mock.invocationCallOrder[0]).toBeLessThan(sessions.signIn.mock.invocationCallOrder[0]!);
      expect(response.user.status).toBe('active');
      expect(metrics.countLogin).toHaveBeenCalledWith('success');
    });

    describe('a password hashed at another cost', () => {
      let user: UserWithPassword;
      let hash: jest.SpiedFunction<PasswordHasher['hash']>;

      beforeEach(async () => {
        const costFive = new PasswordHasher(loadConfig({ BCRYPT_COST: '5' }));
        user = userWith({ passwordHash: await costFive.hash(PASSWORD) });
        users.findForPasswordCheck.mockResolvedValue(user);
        hash = jest.spyOn(hasher, 'hash');
      });

      afterEach(() => hash.mockRestore());

      it('is hashed again before the sign-in takes the lock, and written only by the callback run under it', async () => {
        const lockManager = { name: 'lock-manager' } as unknown as EntityManager;
        sessions.signIn.mockImplementation(
          async (_id: string, _client: ClientInfo, _checked: string, withinLock?: (m: EntityManager) => Promise<void>) => {
            // Nothing written before the lock is held.
            expect(hash).toHaveBeenCalledTimes(1);
            expect(users.rehashPasswordWithin).not.toHaveBeenCalled();
            await withinLock!(lockManager);
            return { tokens: issued, role: 'user' };
          },
        );

        await service.login({ email: user.email, password: PASSWORD }, client);

        const [id, , checked, withinLock] = sessions.signIn.mock.calls[0] as [string, ClientInfo, string, unknown];
        expect([id, checked]).toEqual([user.id, user.passwordHash]);
        expect(withinLock).toEqual(expect.any(Function));
        expect(users.rehashPasswordWithin).toHaveBeenCalledTimes(1);
        const [usedManager, rehashedId, newHash] = users.rehashPasswordWithin.mock.calls[0] as [EntityManager, string, string];
        expect(usedManager).toBe(lockManager);
        expect(rehashedId).toBe(user.id);
        expect(bcrypt.getRounds(newHash)).toBe(4);
        await expect(hasher.verify(PASSWORD, newHash)).resolves.toBe(true);
        expect(metrics.countLogin.mock.calls).toEqual([['success']]);
      });

      it('is not written when the sign-in does not run the callback', async () => {
        // signIn's own behaviour when the stored hash changed meanwhile.
        sessions.signIn.mockResolvedValue(undefined);

        const error = await rejectionOf(service.login({ email: user.email, password: PASSWORD }, client));

        expect(error).toMatchObject({ code: 'INVALID_CREDENTIALS', status: 401 });
        expect(hash).toHaveBeenCalledTimes(1);
        expect(users.rehashPasswordWithin).not.toHaveBeenCalled();
      });
    });

    it('answers 401 INVALID_CREDENTIALS, counting no success, when the password changed during the check', async () => {
      const user = userWith();
      users.findForPasswordCheck.mockResolvedValue(user);
      sessions.signIn.mockResolvedValue(undefined);

      const error = await rejectionOf(service.login({ email: user.email, password: PASSWORD }, client));

      expect(error).toMatchObject({ code: 'INVALID_CREDENTIALS', status: 401, detail: 'The email or password is incorrect.' });
      expect(sessions.signIn).toHaveBeenCalledWith(user.id, client, user.passwordHash, undefined);
      expect(metrics.countLogin.mock.calls).toEqual([['invalid_credentials']]);
      // The password was right when checked: no failure to count.
      expect(lockout.recordFailure).not.toHaveBeenCalled();
    });

    it('answers with the role signIn read under the lock, not the one read before the password check', async () => {
      const user = userWith();
      users.findForPasswordCheck.mockResolvedValue(user);
      sessions.signIn.mockResolvedValue({ tokens: issued, role: 'admin' });

      const response = await service.login({ email: user.email, password: PASSWORD }, client);

      expect(response.user.role).toBe('admin');
      expect(response).toMatchObject({ ...issued, user: { id: user.id, role: 'admin' } });
    });

    it('passes on signIn refusing an account blocked since the password check, counting no success', async () => {
      const user = userWith();
      users.findForPasswordCheck.mockResolvedValue(user);
      sessions.signIn.mockRejectedValue(new AppError('ACCOUNT_BLOCKED', 403, 'This account is blocked.'));

      const error = await rejectionOf(service.login({ email: user.email, password: PASSWORD }, client));

      expect(error).toMatchObject({ code: 'ACCOUNT_BLOCKED', status: 403 });
      expect(metrics.countLogin.mock.calls).toEqual([['account_blocked']]);
    });
  });

  describe('register', () => {
    const dto = { email: 'ada@example.com', password: PASSWORD, name: 'Ada Lovelace' };

    it('creates the user and its first session, answering 201', async () => {
      const user = userWith();
      users.create.mockResolvedValue(user);

      const response = await service.register(dto, client);

      const [usedManager, newUser] = users.create.mock.calls[0] as [EntityManager, { passwordHash: string }];
      expect(usedManager).toBe(manager);
      expect(newUser).toMatchObject({ email: dto.email, name: dto.name, mobile: null });
      await expect(hasher.verify(PASSWORD, newUser.passwordHash)).resolves.toBe(true);
      expect(sessions.start).toHaveBeenCalledWith(manager, user, client);
      expect(response).toMatchObject({ status: 201, body: { ...issued, user: { id: user.id } } });
      expect(idempotency.claim).not.toHaveBeenCalled();
    });

    it('issues the email verification token in the same transaction, after creating the user', async () => {
      const user = userWith();
      const order: string[] = [];
      users.create.mockImplementation(async () => (order.push('create'), user));
      recovery.requestVerification.mockImplementation(async () => void order.push('requestVerification'));
      sessions.start.mockImplementation(async () => (order.push('start'), issued));

      await service.register(dto, client);

      expect(sessions.transaction).toHaveBeenCalledTimes(1);
      expect(recovery.requestVerification).toHaveBeenCalledWith(manager, user);
      expect(order).toEqual(['create', 'requestVerification', 'start']);
    });

    it('opens no session when the verification token cannot be issued', async () => {
      users.create.mockResolvedValue(userWith());
      recovery.requestVerification.mockRejectedValue(new Error('outbox insert failed'));

      await expect(service.register(dto, client)).rejects.toThrow('outbox insert failed');

      expect(sessions.start).not.toHaveBeenCalled();
    });

    it('replays the stored answer of a repeated Idempotency-Key without creating anything', async () => {
      const stored = { status: 201, body: { ...issued, user: { id: 'first' } } };
      idempotency.claim.mockResolvedValue(stored);

      await expect(service.register(dto, client, 'key-1')).resolves.toBe(stored);

      expect(idempotency.claim).toHaveBeenCalledWith(manager, { scope: 'POST /auth/register', key: 'key-1', body: dto });
      expect(users.create).not.toHaveBeenCalled();
      expect(idempotency.complete).not.toHaveBeenCalled();
      expect(recovery.requestVerification).not.toHaveBeenCalled();
    });

    it('stores the answer of a first Idempotency-Key in the same transaction', async () => {
      users.create.mockResolvedValue(userWith());

      const response = await service.register(dto, client, 'key-2');

      expect(idempotency.complete).toHaveBeenCalledWith(manager, { scope: 'POST /auth/register', key: 'key-2', body: dto }, response);
    });

    it('refuses an invalid Idempotency-Key before doing any work', async () => {
      const error = await rejectionOf(service.register(dto, client, 'has spaces'));

      expect(error).toMatchObject({ code: 'VALIDATION_FAILED', status: 400 });
      expect(sessions.transaction).not.toHaveBeenCalled();
    });
  });

  describe('logout', () => {
    it('ends only the current session', async () => {
      await service.logout({ userId: 'u1', role: 'user', sessionId: 's1', exp: 0 });

      expect(sessions.end).toHaveBeenCalledWith('u1', 'logout', { sessionId: 's1' });
    });

    it('ends every session on logout-all', async () => {
      await service.logoutAll({ userId: 'u1', role: 'user', sessionId: 's1', exp: 0 });

      expect(sessions.end).toHaveBeenCalledWith('u1', 'logout_all');
    });
  });
});
