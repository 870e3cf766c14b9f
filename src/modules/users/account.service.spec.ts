import { PasswordHasher } from '../../core/auth/password-hasher.js';
import { loadConfig } from '../../core/config/config.js';
import { AppError } from '../../core/errors/app-error.js';
import type { EventPublisher } from '../../core/messaging/event-publisher.js';
import type { AuditRecord, AuditService } from '../audit/audit.service.js';
import { SessionEntity } from '../sessions/session.entity.js';
import type { SessionsService } from '../sessions/sessions.service.js';
import { DEFAULT_PREFERENCES } from '../preferences/dto/preferences.dto.js';
import type { PreferencesService } from '../preferences/preferences.service.js';
import { AccountService } from './account.service.js';
import { toUserResponse } from './dto/user.response.js';
import type { UsersService } from './users.service.js';
import { buildAuthUser, buildUserEntity } from '../../../test/factories/user-entity.factory.js';
import { rejectionOf } from '../../../test/utils/errors.js';
import {
  fakeEventPublisher,
  type FakeEventPublisher,
  fakeTransactions,
  recordedEvents,
} from '../../../test/utils/unit-doubles.js';

const config = loadConfig({ NODE_ENV: 'test', BCRYPT_COST: '4' });
const CURRENT = 'current-password-1';
const NEW = 'a-brand-new-passphrase-2';

let hasher: PasswordHasher;
let currentHash: string;

beforeAll(async () => {
  hasher = new PasswordHasher(config);
  await hasher.onModuleInit();
  currentHash = await hasher.hash(CURRENT);
});

describe('AccountService', () => {
  const user = buildAuthUser();
  let tx: ReturnType<typeof fakeTransactions>;
  let users: {
    findForPasswordCheck: jest.Mock;
    transaction: jest.Mock;
    setPasswordWithin: jest.Mock;
    lockWithin: jest.Mock;
    setStatusWithin: jest.Mock;
    forget: jest.Mock;
    getProfile: jest.Mock;
  };
  let sessions: { endWithin: jest.Mock; refuseAccessTokens: jest.Mock; listAll: jest.Mock };
  let preferences: { get: jest.Mock };
  let audit: { listAbout: jest.Mock };
  let events: FakeEventPublisher & EventPublisher;
  let service: AccountService;
  /** What happened, in order, and whether a transaction was open at the time. */
  let log: string[];
  let step: (name: string) => void;

  beforeEach(() => {
    tx = fakeTransactions();
    log = [];
    step = (name: string) => void log.push(`${name}${tx.state.open ? ' (in transaction)' : ''}`);
    users = {
      findForPasswordCheck: jest.fn().mockResolvedValue({ ...buildUserEntity({ id: user.userId }), passwordHash: currentHash }),
      transaction: tx.transaction,
      setPasswordWithin: jest.fn(async () => (step('setPasswordWithin'), true)),
      lockWithin: jest.fn(async () => (step('lockWithin'), buildUserEntity({ id: user.userId }))),
      setStatusWithin: jest.fn(async () => (step('setStatusWithin'), buildUserEntity({ id: user.userId, status: 'deactivated' }))),
      forget: jest.fn(async () => void step('forget')),
      getProfile: jest.fn(),
    };
    sessions = {
      endWithin: jest.fn(async () => (step('endWithin'), ['s2', 's3'])),
      refuseAccessTokens: jest.fn(async () => void step('refuseAccessTokens')),
      listAll: jest.fn().mockResolvedValue([]),
    };
    preferences = { get: jest.fn().mockResolvedValue({ ...DEFAULT_PREFERENCES }) };
    audit = { listAbout: jest.fn().mockResolvedValue([]) };
    events = fakeEventPublisher();
    events.record.mockImplementation(async (_manager, ...recorded) => void step(`record ${recorded.map((e) => e.name).join(',')}`));
    service = new AccountService(
      users as unknown as UsersService,
      sessions as unknown as SessionsService,
      preferences as unknown as PreferencesService,
      audit as unknown as AuditService,
      hasher,
      events,
    );
  });

  afterEach(() => jest.restoreAllMocks());

  describe('changePassword', () => {
    it('answers a wrong current password with 400 INVALID_CURRENT_PASSWORD on currentPassword, changing nothing', async () => {
      const error = await rejectionOf(service.changePassword(user, { currentPassword: 'not-it-1', newPassword: NEW }));

      expect(error).toMatchObject({ code: 'INVALID_CURRENT_PASSWORD', status: 400 });
      expect(error.errors).toEqual([{ field: 'currentPassword', message: 'is incorrect' }]);
      expect(users.findForPasswordCheck).toHaveBeenCalledWith({ id: user.userId });
      expect(tx.transaction).not.toHaveBeenCalled();
      expect(sessions.refuseAccessTokens).not.toHaveBeenCalled();
    });

    it('answers the same way, after a full password check, when the account is gone', async () => {
      users.findForPasswordCheck.mockResolvedValue(null);
      const verify = jest.spyOn(hasher, 'verify');

      const error = await rejectionOf(service.changePassword(user, { currentPassword: CURRENT, newPassword: NEW }));

      expect(error).toMatchObject({ code: 'INVALID_CURRENT_PASSWORD', status: 400 });
      expect(verify).toHaveBeenCalledWith(CURRENT, undefined);
      expect(tx.transaction).not.toHaveBeenCalled();
    });

    it('refuses a new password equal to the current one with 400 VALIDATION_FAILED on newPassword', async () => {
      const error = await rejectionOf(service.changePassword(user, { currentPassword: CURRENT, newPassword: CURRENT }));

      expect(error).toMatchObject({ code: 'VALIDATION_FAILED', status: 400 });
      expect(error.errors).toEqual([{ field: 'newPassword', message: 'must differ from the current password' }]);
      expect(tx.transaction).not.toHaveBeenCalled();
    });

    it('sets the new hash and ends every other session in one transaction, then refuses their access tokens', async () => {
      await service.changePassword(user, { currentPassword: CURRENT, newPassword: NEW });

      expect(tx.transaction).toHaveBeenCalledTimes(1);
      expect(log).toEqual(['setPasswordWithin (in transaction)', 'endWithin (in transaction)', 'refuseAccessTokens']);
      const [manager, id, hash, replacing] = users.setPasswordWithin.mock.calls[0] as unknown as [unknown, string, string, string];
      expect([manager, id]).toEqual([tx.manager, user.userId]);
      await expect(hasher.verify(NEW, hash)).resolves.toBe(true);
      // Only over the hash the current password was just checked against.
      expect(replacing).toBe(currentHash);
      expect(tx.state.commits).toBe(1);
      expect(sessions.endWithin).toHaveBeenCalledWith(tx.manager, user.userId, 'password_change', { exceptSessionId: user.sessionId });
      expect(sessions.refuseAccessTokens).toHaveBeenCalledWith(['s2', 's3']);
    });

    it('answers 400 INVALID_CURRENT_PASSWORD when the password was changed (a reset, say) since the check, ending and refusing nothing', async () => {
      users.setPasswordWithin.mockImplementation(async () => (step('setPasswordWithin'), false));

      const error = await rejectionOf(service.changePassword(user, { currentPassword: CURRENT, newPassword: NEW }));

      expect(error).toMatchObject({ code: 'INVALID_CURRENT_PASSWORD', status: 400 });
      expect(error.errors).toEqual([{ field: 'currentPassword', message: 'is incorrect' }]);
      expect(users.setPasswordWithin).toHaveBeenCalledWith(tx.manager, user.userId, expect.any(String), currentHash);
      expect(log).toEqual(['setPasswordWithin (in transaction)']);
      expect(tx.state).toMatchObject({ commits: 0, rollbacks: 1 });
      expect(sessions.endWithin).not.toHaveBeenCalled();
      expect(sessions.refuseAccessTokens).not.toHaveBeenCalled();
    });

    it('refuses no tokens when the transaction fails', async () => {
      sessions.endWithin.mockRejectedValue(new Error('deadlock'));

      await expect(service.changePassword(user, { currentPassword: CURRENT, newPassword: NEW })).rejects.toThrow('deadlock');

      expect(tx.state.rollbacks).toBe(1);
      expect(sessions.refuseAccessTokens).not.toHaveBeenCalled();
    });
  });

  describe('deactivate', () => {
    it('locks the account, deactivates it, records user.deleted and ends every session in one transaction; then refuses tokens and drops the cache', async () => {
      await service.deactivate(user);

      expect(tx.transaction).toHaveBeenCalledTimes(1);
      expect(log).toEqual([
        'lockWithin (in transaction)',
        'setStatusWithin (in transaction)',
        'record user.deleted (in transaction)',
        'endWithin (in transaction)',
        'refuseAccessTokens',
        'forget',
      ]);
      expect(users.lockWithin).toHaveBeenCalledWith(tx.manager, user.userId);
      expect(users.setStatusWithin).toHaveBeenCalledWith(tx.manager, user.userId, 'deactivated', 'deactivated by the user', null);
      expect(recordedEvents(events)).toEqual([
        { manager: tx.manager, event: { name: 'user.deleted', userId: user.userId, data: { userId: user.userId } } },
      ]);
      expect(sessions.endWithin).toHaveBeenCalledWith(tx.manager, user.userId, 'deactivated');
      expect(sessions.refuseAccessTokens).toHaveBeenCalledWith(['s2', 's3']);
      expect(users.forget).toHaveBeenCalledWith(user.userId);
    });

    it.each([
      ['the lock finds no row', () => users.lockWithin.mockResolvedValue(null)],
      ['the update finds no row', () => users.setStatusWithin.mockResolvedValue(null)],
    ])('answers 404 USER_NOT_FOUND for a user that is gone (%s), recording and ending nothing', async (_label, arrange) => {
      arrange();

      const error = await rejectionOf(service.deactivate(user));

      expect(error).toMatchObject({ code: 'USER_NOT_FOUND', status: 404 });
      expect(tx.state.rollbacks).toBe(1);
      expect(events.record).not.toHaveBeenCalled();
      expect(sessions.endWithin).not.toHaveBeenCalled();
      expect(sessions.refuseAccessTokens).not.toHaveBeenCalled();
      expect(users.forget).not.toHaveBeenCalled();
    });

    it('refuses an admin with 409 SELF_CHANGE_FORBIDDEN and changes nothing', async () => {
      const admin = buildAuthUser({ role: 'admin' });
      users.lockWithin.mockResolvedValue(buildUserEntity({ id: admin.userId, role: 'admin' }));

      const error = await rejectionOf(service.deactivate(admin));

      expect(error).toMatchObject({ code: 'SELF_CHANGE_FORBIDDEN', status: 409 });
      expect(users.lockWithin).toHaveBeenCalledWith(tx.manager, admin.userId);
      expect(tx.state).toMatchObject({ commits: 0, rollbacks: 1 });
      expect(users.setStatusWithin).not.toHaveBeenCalled();
      expect(events.record).not.toHaveBeenCalled();
      expect(sessions.endWithin).not.toHaveBeenCalled();
      expect(sessions.refuseAccessTokens).not.toHaveBeenCalled();
      expect(users.forget).not.toHaveBeenCalled();
    });

    it('goes by the role as stored, not as the access token says', async () => {
      // Promoted after this token was issued: the row is what counts.
      users.lockWithin.mockResolvedValue(buildUserEntity({ id: user.userId, role: 'admin' }));

      const error = await rejectionOf(service.deactivate(user));

      expect(error).toMatchObject({ code: 'SELF_CHANGE_FORBIDDEN', status: 409 });
      expect(users.setStatusWithin).not.toHaveBeenCalled();
    });

    it('refuses no tokens and keeps the cache when the transaction fails', async () => {
      sessions.endWithin.mockRejectedValue(new Error('deadlock'));

      await expect(service.deactivate(user)).rejects.toThrow('deadlock');

      expect(tx.state.rollbacks).toBe(1);
      expect(sessions.refuseAccessTokens).not.toHaveBeenCalled();
      expect(users.forget).not.toHaveBeenCalled();
    });
  });

  describe('export', () => {
    it('gathers profile, preferences, sessions and audit entries about the user', async () => {
      const profile = toUserResponse(buildUserEntity({ id: user.userId }));
      const at = (iso: string) => new Date(iso);
      const active = Object.assign(new SessionEntity(), {
        id: 's1',
        userId: user.userId,
        createdAt: at('2026-01-01T00:00:00Z'),
        lastUsedAt: at('2026-01-02T00:00:00Z'),
        expiresAt: at('2026-04-01T00:00:00Z'),
        revokedAt: null,
        revokedReason: null,
        ip: '203.0.113.7',
        userAgent: 'curl/8',
      });
      const ended = Object.assign(new SessionEntity(), {
        ...active,
        id: 's0',
        revokedAt: at('2026-01-03T00:00:00Z'),
        revokedReason: 'logout',
        ip: null,
        userAgent: null,
      });
      const entry: AuditRecord = {
        id: 'a1',
        actorType: 'user',
        actorId: 'admin-1 (not exported)',
        action: 'user.status_changed',
        targetId: user.userId,
        reason: 'spam',
        ip: '198.51.100.1 (not exported)',
        userAgent: 'admin-console (not exported)',
        correlationId: 'corr-not-exported',
        before: { status: 'active' },
        after: { status: 'blocked' },
        createdAt: '2026-01-04T00:00:00.000Z',
      };
      users.getProfile.mockResolvedValue(profile);
      preferences.get.mockResolvedValue({ ...DEFAULT_PREFERENCES, language: 'fr' });
      sessions.listAll.mockResolvedValue([active, ended]);
      audit.listAbout.mockResolvedValue([entry]);
      const before = Date.now();

      const exported = await service.export(user.userId);

      for (const mock of [users.getProfile, preferences.get, sessions.listAll, audit.listAbout]) {
        expect(mock).toHaveBeenCalledWith(user.userId);
      }
      expect(exported).toEqual({
        exportedAt: expect.any(String),
        profile,
        preferences: { ...DEFAULT_PREFERENCES, language: 'fr' },
        sessions: [
          {
            id: 's1',
            createdAt: '2026-01-01T00:00:00.000Z',
            lastUsedAt: '2026-01-02T00:00:00.000Z',
            expiresAt: '2026-04-01T00:00:00.000Z',
            revokedAt: null,
            revokedReason: null,
            ip: '203.0.113.7',
            userAgent: 'curl/8',
          },
          {
            id: 's0',
            createdAt: '2026-01-01T00:00:00.000Z',
            lastUsedAt: '2026-01-02T00:00:00.000Z',
            expiresAt: '2026-04-01T00:00:00.000Z',
            revokedAt: '2026-01-03T00:00:00.000Z',
            revokedReason: 'logout',
            ip: null,
            userAgent: null,
          },
        ],
        auditEntries: [
          {
            id: 'a1',
            actorType: 'user',
            action: 'user.status_changed',
            reason: 'spam',
            before: { status: 'active' },
            after: { status: 'blocked' },
            createdAt: '2026-01-04T00:00:00.000Z',
          },
        ],
      });
      expect(Date.parse(exported.exportedAt)).toBeGreaterThanOrEqual(before);
      expect(new Date(exported.exportedAt).toISOString()).toBe(exported.exportedAt);
      expect(JSON.stringify(exported)).not.toMatch(/passwordHash|tokenHash|not exported|corr-not-exported/);
    });

    it('fails when the user is gone', async () => {
      users.getProfile.mockRejectedValue(new AppError('USER_NOT_FOUND', 404, 'No such user.'));

      const error = await rejectionOf(service.export(user.userId));

      expect(error).toMatchObject({ code: 'USER_NOT_FOUND', status: 404 });
    });
  });
});
