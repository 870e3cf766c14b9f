import { Logger } from '@nestjs/common';

import { PasswordHasher } from '../../core/auth/password-hasher.js';
import { loadConfig } from '../../core/config/config.js';
import type { EventPublisher } from '../../core/messaging/event-publisher.js';
import { toUserResponse } from '../users/dto/user.response.js';
import type { UsersService } from '../users/users.service.js';
import { AccountRecoveryService } from './account-recovery.service.js';
import type { AccountTokensRepository } from './account-tokens.repository.js';
import type { DevMailbox } from './dev-mailbox.js';
import type { SessionsService } from '../sessions/sessions.service.js';
import { buildAuthUser, buildUserEntity } from '../../../test/factories/user-entity.factory.js';
import { rejectionOf } from '../../../test/utils/errors.js';
import {
  fakeEventPublisher,
  type FakeEventPublisher,
  fakeTransactions,
  recordedEvents,
} from '../../../test/utils/unit-doubles.js';

const config = loadConfig({
  NODE_ENV: 'test',
  BCRYPT_COST: '4',
  EMAIL_VERIFICATION_TTL_SECONDS: '7200',
  PASSWORD_RESET_TTL_SECONDS: '900',
});
const TOKEN = 'mailed-token-abc';
const EXPIRES_AT = new Date('2026-06-01T12:00:00Z');
const NEW_PASSWORD = 'a-brand-new-passphrase-2';

/** Lets the callbacks queued with setImmediate (and what they await) run. */
const flushImmediates = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('AccountRecoveryService', () => {
  const hasher = new PasswordHasher(config);
  const account = buildUserEntity({ emailVerified: false });
  let tx: ReturnType<typeof fakeTransactions>;
  let tokens: { issue: jest.Mock; consume: jest.Mock; ownerOf: jest.Mock };
  let users: {
    transaction: jest.Mock;
    getProfile: jest.Mock;
    findByEmail: jest.Mock;
    markEmailVerifiedWithin: jest.Mock;
    setPasswordWithin: jest.Mock;
    lockWithin: jest.Mock;
    forget: jest.Mock;
  };
  let sessions: { endWithin: jest.Mock; refuseAccessTokens: jest.Mock };
  let events: FakeEventPublisher & EventPublisher;
  let service: AccountRecoveryService;
  let log: string[];

  beforeEach(() => {
    tx = fakeTransactions();
    log = [];
    const step = (name: string) => log.push(`${name}${tx.state.open ? ' (in transaction)' : ''}`);
    tokens = {
      issue: jest.fn(async () => (step('issue'), { token: TOKEN, expiresAt: EXPIRES_AT })),
      consume: jest.fn(async () => (step('consume'), { userId: account.id })),
      ownerOf: jest.fn(async () => account.id),
    };
    users = {
      transaction: tx.transaction,
      getProfile: jest.fn().mockResolvedValue(toUserResponse(account)),
      findByEmail: jest.fn().mockResolvedValue(null),
      markEmailVerifiedWithin: jest.fn(async () => (step('markEmailVerifiedWithin'), true)),
      setPasswordWithin: jest.fn(async () => (step('setPasswordWithin'), true)),
      lockWithin: jest.fn(async () => (step('lockWithin'), account)),
      forget: jest.fn(async () => void step('forget')),
    };
    sessions = {
      endWithin: jest.fn(async () => (step('endWithin'), ['s1', 's2'])),
      refuseAccessTokens: jest.fn(async () => void step('refuseAccessTokens')),
    };
    events = fakeEventPublisher();
    events.record.mockImplementation(async (_manager, ...recorded) => void step(`record ${recorded.map((e) => e.name).join(',')}`));
    service = new AccountRecoveryService(
      tokens as unknown as AccountTokensRepository,
      users as unknown as UsersService,
      sessions as unknown as SessionsService,
      hasher,
      events,
      { send: jest.fn() } as unknown as DevMailbox,
      config,
    );
  });

  afterEach(() => jest.restoreAllMocks());

  describe('requestVerification', () => {
    it("issues a token in the caller's transaction and records user.email_verification_requested with it", async () => {
      await service.requestVerification(tx.manager, account);

      expect(users.lockWithin).toHaveBeenCalledWith(tx.manager, account.id);
      expect(tokens.issue).toHaveBeenCalledWith(tx.manager, account.id, 'email_verification', 7200);
      expect(log).toEqual(['lockWithin', 'issue', 'record user.email_verification_requested']);
      expect(recordedEvents(events)).toEqual([
        {
          manager: tx.manager,
          event: {
            name: 'user.email_verification_requested',
            userId: account.id,
            data: { userId: account.id, email: account.email, name: account.name, token: TOKEN, expiresAt: EXPIRES_AT.toISOString() },
          },
        },
      ]);
    });
  });

  describe('resendVerification', () => {
    it("issues a new token in a transaction of its own, under the user's lock", async () => {
      await service.resendVerification(buildAuthUser({ userId: account.id }));

      expect(users.getProfile).toHaveBeenCalledWith(account.id);
      expect(tx.transaction).toHaveBeenCalledTimes(1);
      expect(users.lockWithin).toHaveBeenCalledWith(tx.manager, account.id);
      expect(tokens.issue).toHaveBeenCalledWith(tx.manager, account.id, 'email_verification', 7200);
      expect(log).toEqual([
        'lockWithin (in transaction)',
        'issue (in transaction)',
        'record user.email_verification_requested (in transaction)',
      ]);
      expect(recordedEvents(events).map(({ event }) => event.name)).toEqual(['user.email_verification_requested']);
    });

    it('sends nothing when the email is already verified', async () => {
      users.getProfile.mockResolvedValue(toUserResponse({ ...account, emailVerified: true }));

      await service.resendVerification(buildAuthUser({ userId: account.id }));

      expect(tx.transaction).not.toHaveBeenCalled();
      expect(users.lockWithin).not.toHaveBeenCalled();
      expect(tokens.issue).not.toHaveBeenCalled();
      expect(events.record).not.toHaveBeenCalled();
    });
  });

  describe('verifyEmail', () => {
    it.each([
      ['invalid', 'TOKEN_INVALID'],
      ['expired', 'TOKEN_EXPIRED'],
    ] as const)('answers an %s token with 400 %s, changing nothing', async (problem, code) => {
      tokens.consume.mockResolvedValue({ problem });

      const error = await rejectionOf(service.verifyEmail(TOKEN));

      expect(error).toMatchObject({ code, status: 400 });
      expect(tokens.consume).toHaveBeenCalledWith(tx.manager, TOKEN, 'email_verification');
      expect(users.markEmailVerifiedWithin).not.toHaveBeenCalled();
      expect(events.record).not.toHaveBeenCalled();
      expect(users.forget).not.toHaveBeenCalled();
      expect(tx.state.rollbacks).toBe(1);
    });

    it('marks the email verified and records user.email_verified in the same transaction, then drops the cache', async () => {
      await service.verifyEmail(TOKEN);

      expect(users.markEmailVerifiedWithin).toHaveBeenCalledWith(tx.manager, account.id);
      expect(recordedEvents(events)).toEqual([
        { manager: tx.manager, event: { name: 'user.email_verified', userId: account.id, data: { userId: account.id } } },
      ]);
      // The user's lock before the token's, as issuing takes them.
      expect(log).toEqual([
        'lockWithin (in transaction)',
        'consume (in transaction)',
        'markEmailVerifiedWithin (in transaction)',
        'record user.email_verified (in transaction)',
        'forget',
      ]);
      expect(users.forget).toHaveBeenCalledWith(account.id);
    });

    it('records no event when the email was already verified', async () => {
      users.markEmailVerifiedWithin.mockResolvedValue(false);

      await service.verifyEmail(TOKEN);

      expect(events.record).not.toHaveBeenCalled();
      expect(tx.state.commits).toBe(1);
    });
  });

  describe('requestPasswordReset', () => {
    it('does nothing for an unknown email', async () => {
      await service.requestPasswordReset('nobody@example.com');

      expect(users.findByEmail).toHaveBeenCalledWith('nobody@example.com');
      expect(tx.transaction).not.toHaveBeenCalled();
      expect(tokens.issue).not.toHaveBeenCalled();
      expect(events.record).not.toHaveBeenCalled();
    });

    it('does nothing for a deactivated account', async () => {
      users.findByEmail.mockResolvedValue({ ...account, status: 'deactivated' });

      await service.requestPasswordReset(account.email);

      expect(tx.transaction).not.toHaveBeenCalled();
      expect(users.lockWithin).not.toHaveBeenCalled();
      expect(tokens.issue).not.toHaveBeenCalled();
      expect(events.record).not.toHaveBeenCalled();
    });

    it.each(['active', 'blocked', 'suspended'] as const)(
      'issues a reset token for a %s account and records user.password_reset_requested containing it',
      async (status) => {
        users.findByEmail.mockResolvedValue({ ...account, status });

        await service.requestPasswordReset(account.email);

        expect(tx.transaction).toHaveBeenCalledTimes(1);
        expect(users.lockWithin).toHaveBeenCalledWith(tx.manager, account.id);
        expect(tokens.issue).toHaveBeenCalledWith(tx.manager, account.id, 'password_reset', 900);
        expect(log).toEqual(['lockWithin (in transaction)', 'issue (in transaction)', 'record user.password_reset_requested (in transaction)']);
        expect(recordedEvents(events)).toEqual([
          {
            manager: tx.manager,
            event: {
              name: 'user.password_reset_requested',
              userId: account.id,
              data: { userId: account.id, email: account.email, name: account.name, token: TOKEN, expiresAt: EXPIRES_AT.toISOString() },
            },
          },
        ]);
      },
    );
  });

  describe('issuing a link', () => {
    it.each([
      ['requestVerification', (s: AccountRecoveryService) => s.requestVerification(tx.manager, account)],
      ['resendVerification', (s: AccountRecoveryService) => s.resendVerification(buildAuthUser({ userId: account.id }))],
      ['requestPasswordReset', (s: AccountRecoveryService) => s.requestPasswordReset(account.email)],
    ])('%s waits for the lock on the user before issuing, so concurrent requests take turns', async (_name, request) => {
      users.findByEmail.mockResolvedValue(account);
      let grant!: () => void;
      users.lockWithin.mockImplementation(async () => {
        await new Promise<void>((resolve) => (grant = resolve));
        return account;
      });

      const issuing = request(service);
      await new Promise((resolve) => setImmediate(resolve));
      expect(users.lockWithin).toHaveBeenCalledTimes(1);
      expect(tokens.issue).not.toHaveBeenCalled();
      expect(events.record).not.toHaveBeenCalled();
      grant();
      await issuing;

      expect(tokens.issue).toHaveBeenCalledTimes(1);
      expect(users.lockWithin.mock.calls[0]![0]).toBe(tokens.issue.mock.calls[0]![0]);
    });

    it('issues nothing when the lock cannot be taken', async () => {
      users.findByEmail.mockResolvedValue(account);
      users.lockWithin.mockRejectedValue(new Error('lock timeout'));

      await expect(service.requestPasswordReset(account.email)).rejects.toThrow('lock timeout');

      expect(tokens.issue).not.toHaveBeenCalled();
      expect(events.record).not.toHaveBeenCalled();
      expect(tx.state.rollbacks).toBe(1);
    });
  });

  describe('forgotPassword', () => {
    it('returns at once, and the work happens afterwards', async () => {
      users.findByEmail.mockResolvedValue(account);

      const returned: unknown = service.forgotPassword(account.email);

      expect(returned).toBeUndefined();
      expect(users.findByEmail).not.toHaveBeenCalled();
      await flushImmediates();
      await flushImmediates();
      expect(users.findByEmail).toHaveBeenCalledWith(account.email);
      expect(recordedEvents(events).map(({ event }) => event.name)).toEqual(['user.password_reset_requested']);
    });

    it('answers the same for an unknown email', async () => {
      expect(service.forgotPassword('nobody@example.com')).toBeUndefined();
      await flushImmediates();

      expect(users.findByEmail).toHaveBeenCalledWith('nobody@example.com');
      expect(tokens.issue).not.toHaveBeenCalled();
    });

    it('logs a failure of the background work instead of throwing it', async () => {
      const error = jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
      const failure = new Error('database is down');
      users.findByEmail.mockRejectedValue(failure);

      expect(() => service.forgotPassword(account.email)).not.toThrow();
      await flushImmediates();
      await flushImmediates();

      expect(error).toHaveBeenCalledWith({ err: failure }, 'could not process a password reset request');
    });
  });

  describe('resetPassword', () => {
    it.each([
      ['invalid', 'TOKEN_INVALID'],
      ['expired', 'TOKEN_EXPIRED'],
    ] as const)('answers an %s token with 400 %s, changing nothing', async (problem, code) => {
      tokens.consume.mockResolvedValue({ problem });

      const error = await rejectionOf(service.resetPassword(TOKEN, NEW_PASSWORD));

      expect(error).toMatchObject({ code, status: 400 });
      expect(tokens.consume).toHaveBeenCalledWith(tx.manager, TOKEN, 'password_reset');
      expect(users.setPasswordWithin).not.toHaveBeenCalled();
      expect(sessions.endWithin).not.toHaveBeenCalled();
      expect(sessions.refuseAccessTokens).not.toHaveBeenCalled();
    });

    it('sets the new password and ends every session in one transaction, then refuses their access tokens', async () => {
      await service.resetPassword(TOKEN, NEW_PASSWORD);

      expect(tx.transaction).toHaveBeenCalledTimes(1);
      expect(log).toEqual([
        'lockWithin (in transaction)',
        'consume (in transaction)',
        'lockWithin (in transaction)',
        'setPasswordWithin (in transaction)',
        'endWithin (in transaction)',
        'refuseAccessTokens',
      ]);
      const [manager, userId, hash, ...rest] = users.setPasswordWithin.mock.calls[0] as unknown as [unknown, string, string, ...unknown[]];
      expect([manager, userId]).toEqual([tx.manager, account.id]);
      // A reset replaces whatever the password is now: no `replacing`.
      expect(rest).toEqual([]);
      await expect(hasher.verify(NEW_PASSWORD, hash)).resolves.toBe(true);
      expect(sessions.endWithin).toHaveBeenCalledWith(tx.manager, account.id, 'password_reset');
      expect(sessions.endWithin.mock.calls[0]).toHaveLength(3);
      expect(sessions.refuseAccessTokens).toHaveBeenCalledWith(['s1', 's2']);
    });
  });
});
