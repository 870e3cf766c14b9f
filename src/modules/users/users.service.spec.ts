import { randomUUID } from 'node:crypto';

import { Logger } from '@nestjs/common';
import type { Keyv } from 'keyv';

import { PasswordHasher } from '../../core/auth/password-hasher.js';
import type { CacheService } from '../../core/cache/cache.service.js';
import { loadConfig } from '../../core/config/config.js';
import { AppError } from '../../core/errors/app-error.js';
import type { EventPublisher } from '../../core/messaging/event-publisher.js';
import type { AuditService } from '../audit/audit.service.js';
import type { UserEntity } from './user.entity.js';
import type { LiftedSuspension, UsersRepository } from './users.repository.js';
import { UsersService } from './users.service.js';
import { buildAuthUser as viewer, buildUserEntity as userEntity } from '../../../test/factories/user-entity.factory.js';
import { rejectionOf } from '../../../test/utils/errors.js';
import { inMemoryCacheService } from '../../../test/utils/in-memory-cache.js';
import {
  fakeEventPublisher,
  type FakeEventPublisher,
  fakeManager,
  fakeTransactions,
  recordedEvents,
} from '../../../test/utils/unit-doubles.js';

const config = loadConfig({ NODE_ENV: 'test', BCRYPT_COST: '4' });
const hasher = new PasswordHasher(config);

const responseOf = (user: UserEntity) => ({
  id: user.id,
  email: user.email,
  name: user.name,
  mobile: user.mobile,
  role: user.role,
  status: user.status,
  emailVerified: user.emailVerified,
  createdAt: user.createdAt.toISOString(),
  updatedAt: user.updatedAt.toISOString(),
});

/** The manager of the fake transactions: the sweep asks it for the advisory lock itself. */
type QueryingManager = ReturnType<typeof fakeManager> & { query: jest.Mock };

function fakeRepository() {
  const manager = Object.assign(fakeManager(), { query: jest.fn().mockResolvedValue([{ locked: true }]) }) as QueryingManager;
  const tx = fakeTransactions(manager);
  return {
    tx,
    repository: {
      transaction: tx.transaction,
      findById: jest.fn().mockResolvedValue(null),
      findByEmail: jest.fn().mockResolvedValue(null),
      findForPasswordCheck: jest.fn().mockResolvedValue(null),
      lock: jest.fn().mockResolvedValue(null),
      insert: jest.fn(),
      insertIfAbsent: jest.fn().mockResolvedValue(null),
      existsByEmail: jest.fn().mockResolvedValue(false),
      update: jest.fn().mockResolvedValue(null),
      updatePasswordHash: jest.fn().mockResolvedValue(undefined),
      replacePassword: jest.fn().mockResolvedValue(true),
      liftLapsedSuspensions: jest.fn<Promise<LiftedSuspension[]>, unknown[]>().mockResolvedValue([]),
      lockAdminSet: jest.fn().mockResolvedValue(undefined),
      tryLockSuspensionSweep: jest.fn().mockResolvedValue(true),
      countActiveAdmins: jest.fn().mockResolvedValue(0),
      searchForAdmin: jest.fn(),
      countByStatusAndRole: jest.fn(),
    },
  };
}

describe('UsersService', () => {
  let tx: ReturnType<typeof fakeTransactions>;
  let repository: ReturnType<typeof fakeRepository>['repository'];
  let cache: CacheService;
  let keyv: Keyv;
  let events: FakeEventPublisher & EventPublisher;
  let audit: { record: jest.Mock };
  let service: UsersService;

  const build = (appConfig = config) =>
    new UsersService(repository as unknown as UsersRepository, hasher, cache, events, audit as unknown as AuditService, appConfig);

  beforeEach(() => {
    ({ tx, repository } = fakeRepository());
    ({ cache, store: keyv } = inMemoryCacheService());
    events = fakeEventPublisher();
    audit = { record: jest.fn().mockResolvedValue(undefined) };
    service = build();
  });

  afterEach(() => cache.onApplicationShutdown());

  describe('getVisibleTo', () => {
    it('shows users themselves', async () => {
      const user = userEntity();
      repository.findById.mockResolvedValue(user);

      const response = await service.getVisibleTo(viewer({ userId: user.id }), user.id);

      expect(response).toEqual({
        id: user.id,
        email: user.email,
        name: user.name,
        mobile: user.mobile,
        role: 'user',
        status: 'active',
        emailVerified: true,
        createdAt: '2026-01-01T00:00:00.000Z',
        updatedAt: '2026-01-02T00:00:00.000Z',
      });
      expect(response).not.toHaveProperty('passwordHash');
    });

    it('shows anyone to an admin', async () => {
      const user = userEntity();
      repository.findById.mockResolvedValue(user);

      await expect(service.getVisibleTo(viewer({ role: 'admin' }), user.id)).resolves.toMatchObject({ id: user.id });
      expect(repository.findById).toHaveBeenCalledWith(user.id);
    });

    it('answers another user with the same 404 as a missing id, without looking it up', async () => {
      const other = userEntity();
      repository.findById.mockResolvedValue(other);

      const hidden = await rejectionOf(service.getVisibleTo(viewer(), other.id));
      expect(repository.findById).not.toHaveBeenCalled();

      repository.findById.mockResolvedValue(null);
      const admin = viewer({ role: 'admin' });
      const missing = await rejectionOf(service.getVisibleTo(admin, randomUUID()));

      expect(hidden).toMatchObject({ code: 'USER_NOT_FOUND', status: 404 });
      expect([hidden.code, hidden.status, hidden.detail]).toEqual([missing.code, missing.status, missing.detail]);
    });
  });

  describe('getProfile', () => {
    it('reads the database once, then answers from the cache', async () => {
      const user = userEntity();
      repository.findById.mockResolvedValue(user);

      await expect(service.getProfile(user.id)).resolves.toEqual(responseOf(user));
      await expect(service.getProfile(user.id)).resolves.toEqual(responseOf(user));

      expect(repository.findById).toHaveBeenCalledTimes(1);
      await expect(keyv.get(`user:${user.id}`)).resolves.toEqual(responseOf(user));
    });

    it('reads the database again after forget()', async () => {
      const user = userEntity();
      repository.findById.mockResolvedValue(user);
      await service.getProfile(user.id);

      await service.forget(user.id);
      await expect(keyv.get(`user:${user.id}`)).resolves.toBeUndefined();
      repository.findById.mockResolvedValue({ ...user, name: 'Ada King' });

      await expect(service.getProfile(user.id)).resolves.toMatchObject({ name: 'Ada King' });
      expect(repository.findById).toHaveBeenCalledTimes(2);
    });

    it('answers 404 USER_NOT_FOUND for an unknown id', async () => {
      const error = await rejectionOf(service.getProfile(randomUUID()));

      expect(error).toMatchObject({ code: 'USER_NOT_FOUND', status: 404 });
    });
  });

  describe('updateProfile', () => {
    it('writes nothing and records nothing when nothing changes', async () => {
      const user = userEntity();
      repository.lock.mockResolvedValue(user);

      await expect(service.updateProfile(user.id, {})).resolves.toEqual(responseOf(user));
      await expect(service.updateProfile(user.id, { name: user.name, mobile: user.mobile })).resolves.toEqual(responseOf(user));

      expect(repository.lock).toHaveBeenCalledWith(tx.manager, user.id);
      expect(repository.update).not.toHaveBeenCalled();
      expect(events.record).not.toHaveBeenCalled();
    });

    it('locks the row, writes only the changed fields and records user.updated in the same transaction', async () => {
      const current = userEntity();
      const updated = { ...current, name: 'Ada King' };
      repository.lock.mockResolvedValue(current);
      repository.update.mockResolvedValue(updated);

      await expect(service.updateProfile(current.id, { name: 'Ada King', mobile: current.mobile })).resolves.toEqual(
        responseOf(updated),
      );

      expect(tx.transaction).toHaveBeenCalledTimes(1);
      expect(repository.update).toHaveBeenCalledWith(tx.manager, current.id, { name: 'Ada King' });
      expect(recordedEvents(events)).toEqual([
        {
          manager: tx.manager,
          event: { name: 'user.updated', userId: current.id, data: { user: responseOf(updated), changed: ['name'] } },
        },
      ]);
    });

    it('removes the mobile number when given null', async () => {
      const current = userEntity();
      repository.lock.mockResolvedValue(current);
      repository.update.mockResolvedValue({ ...current, mobile: null });

      await expect(service.updateProfile(current.id, { mobile: null })).resolves.toMatchObject({ mobile: null });

      expect(repository.update).toHaveBeenCalledWith(tx.manager, current.id, { mobile: null });
      expect(recordedEvents(events)[0]!.event.data).toMatchObject({ changed: ['mobile'] });
    });

    it('drops the cached profile after the commit', async () => {
      const current = userEntity();
      repository.findById.mockResolvedValue(current);
      await service.getProfile(current.id);
      repository.lock.mockResolvedValue(current);
      repository.update.mockResolvedValue({ ...current, name: 'Ada King' });
      const invalidate = jest.spyOn(cache, 'invalidate').mockImplementation(async (...keys) => {
        expect(tx.state).toMatchObject({ open: false, commits: 1 });
        await keyv.deleteMany(keys);
      });

      await service.updateProfile(current.id, { name: 'Ada King' });

      expect(invalidate).toHaveBeenCalledWith(`user:${current.id}`);
      await expect(keyv.get(`user:${current.id}`)).resolves.toBeUndefined();
    });

    it('answers 404 USER_NOT_FOUND for a user that is gone', async () => {
      const error = await rejectionOf(service.updateProfile(randomUUID(), { mobile: null }));

      expect(error).toMatchObject({ code: 'USER_NOT_FOUND', status: 404 });
      expect(repository.update).not.toHaveBeenCalled();
      expect(events.record).not.toHaveBeenCalled();
      expect(tx.state.rollbacks).toBe(1);
    });
  });

  describe('reactivate', () => {
    const lapsedAt = new Date('2026-03-01T12:00:00.000Z');
    const liftedOf = (user: UserEntity, reason: string | null = 'spam'): LiftedSuspension => ({
      user: { ...user, status: 'active', statusReason: null, statusUntil: null },
      reason,
      until: lapsedAt,
    });

    it('lifts the lapsed suspension, records user.status_changed and a system audit entry, then drops the cached profile', async () => {
      const user = userEntity({ status: 'suspended', statusReason: 'spam', statusUntil: lapsedAt });
      repository.findById.mockResolvedValue(user);
      await service.getProfile(user.id);
      repository.liftLapsedSuspensions.mockResolvedValue([liftedOf(user)]);
      const invalidate = jest.spyOn(cache, 'invalidate');
      invalidate.mockImplementation(async (...keys) => {
        expect(tx.state).toMatchObject({ open: false, commits: 1 });
        await keyv.deleteMany(keys);
      });

      await service.reactivate(user.id);

      expect(tx.transaction).toHaveBeenCalledTimes(1);
      expect(repository.liftLapsedSuspensions).toHaveBeenCalledWith(tx.manager, { userId: user.id });
      expect(recordedEvents(events)).toEqual([
        {
          manager: tx.manager,
          event: {
            name: 'user.status_changed',
            userId: user.id,
            data: { userId: user.id, status: 'active', reason: 'suspension ended', until: null },
          },
        },
      ]);
      expect(audit.record.mock.calls).toEqual([
        [
          tx.manager,
          {
            actor: { type: 'system' },
            action: 'user.suspension_lifted',
            targetId: user.id,
            reason: 'suspension ended',
            before: { status: 'suspended', statusReason: 'spam', statusUntil: '2026-03-01T12:00:00.000Z' },
            after: { status: 'active', statusReason: null, statusUntil: null },
          },
        ],
      ]);
      expect(invalidate).toHaveBeenCalledWith(`user:${user.id}`);
      await expect(keyv.get(`user:${user.id}`)).resolves.toBeUndefined();
    });

    it('records nothing for a user that is gone, or whose suspension has not lapsed', async () => {
      repository.liftLapsedSuspensions.mockResolvedValue([]);

      await service.reactivate('u1');

      expect(repository.liftLapsedSuspensions).toHaveBeenCalledWith(tx.manager, { userId: 'u1' });
      expect(events.record).not.toHaveBeenCalled();
      expect(audit.record).not.toHaveBeenCalled();
    });

    it('keeps the cached profile when the transaction fails', async () => {
      const user = userEntity({ status: 'suspended', statusUntil: lapsedAt });
      repository.liftLapsedSuspensions.mockResolvedValue([liftedOf(user)]);
      audit.record.mockRejectedValue(new Error('audit insert failed'));
      const invalidate = jest.spyOn(cache, 'invalidate');

      await expect(service.reactivate(user.id)).rejects.toThrow('audit insert failed');

      expect(tx.state.rollbacks).toBe(1);
      expect(invalidate).not.toHaveBeenCalled();
    });
  });

  describe('liftLapsedSuspensions', () => {
    const lifted = (count: number): LiftedSuspension[] =>
      Array.from({ length: count }, () => ({
        user: userEntity({ status: 'active' }),
        reason: null,
        until: new Date('2026-03-01T00:00:00Z'),
      }));

    it('lifts batches, each in its own transaction under the sweep lock, until a batch is not full', async () => {
      repository.liftLapsedSuspensions.mockResolvedValueOnce(lifted(2)).mockResolvedValueOnce(lifted(2)).mockResolvedValueOnce(lifted(1));

      await expect(service.liftLapsedSuspensions(2)).resolves.toBe(5);

      expect(tx.transaction).toHaveBeenCalledTimes(3);
      expect(tx.state.commits).toBe(3);
      expect(repository.tryLockSuspensionSweep.mock.calls).toEqual([[tx.manager], [tx.manager], [tx.manager]]);
      expect(repository.liftLapsedSuspensions.mock.calls).toEqual([
        [tx.manager, { limit: 2 }],
        [tx.manager, { limit: 2 }],
        [tx.manager, { limit: 2 }],
      ]);
      expect(recordedEvents(events)).toHaveLength(5);
      expect(audit.record).toHaveBeenCalledTimes(5);
      expect(audit.record.mock.calls.every(([m, entry]) => m === tx.manager && entry.actor.type === 'system')).toBe(true);
    });

    it('leaves the work to the replica holding the sweep lock', async () => {
      repository.tryLockSuspensionSweep.mockResolvedValue(false);

      await expect(service.liftLapsedSuspensions()).resolves.toBe(0);

      expect(tx.transaction).toHaveBeenCalledTimes(1);
      expect(repository.liftLapsedSuspensions).not.toHaveBeenCalled();
      expect(events.record).not.toHaveBeenCalled();
      expect(audit.record).not.toHaveBeenCalled();
    });

    it('drops the cached profile of each lifted user after its batch committed', async () => {
      const batch = lifted(2);
      repository.liftLapsedSuspensions.mockResolvedValue(batch);
      const invalidate = jest.spyOn(cache, 'invalidate').mockImplementation(async () => {
        expect(tx.state.open).toBe(false);
      });

      await expect(service.liftLapsedSuspensions(500)).resolves.toBe(2);

      expect(invalidate.mock.calls.map(([key]) => key).sort()).toEqual(batch.map(({ user }) => `user:${user.id}`).sort());
    });
  });

  describe('setRoleWithin', () => {
    it("sets the role in the caller's transaction and records user.role_changed", async () => {
      const user = userEntity({ id: 'u1', role: 'admin' });
      repository.update.mockResolvedValue(user);

      await expect(service.setRoleWithin(tx.manager, 'u1', 'admin')).resolves.toBe(user);

      expect(tx.transaction).not.toHaveBeenCalled();
      expect(repository.update).toHaveBeenCalledWith(tx.manager, 'u1', { role: 'admin' });
      expect(recordedEvents(events)).toEqual([
        { manager: tx.manager, event: { name: 'user.role_changed', userId: 'u1', data: { userId: 'u1', role: 'admin' } } },
      ]);
    });

    it('answers null and records nothing for a user that is gone', async () => {
      await expect(service.setRoleWithin(tx.manager, 'u1', 'user')).resolves.toBeNull();
      expect(events.record).not.toHaveBeenCalled();
    });
  });

  describe('countOtherActiveAdminsWithin', () => {
    it('takes the admin-set lock before counting, both in the caller\'s transaction', async () => {
      const order: string[] = [];
      repository.lockAdminSet.mockImplementation(async () => void order.push('lock'));
      repository.countActiveAdmins.mockImplementation(async () => (order.push('count'), 2));

      await expect(service.countOtherActiveAdminsWithin(tx.manager, 'u1')).resolves.toBe(2);

      expect(order).toEqual(['lock', 'count']);
      expect(repository.lockAdminSet).toHaveBeenCalledWith(tx.manager);
      expect(repository.countActiveAdmins).toHaveBeenCalledWith(tx.manager, 'u1');
    });
  });

  describe('admin reads', () => {
    it('searchForAdmin and stats answer what the repository answers', async () => {
      const page = { users: [userEntity()], next: ['ada@example.com', randomUUID()] };
      const stats = { total: 1 };
      repository.searchForAdmin.mockResolvedValue(page);
      repository.countByStatusAndRole.mockResolvedValue(stats);
      const after = ['ada', randomUUID()];

      await expect(service.searchForAdmin({ q: 'ada', status: 'active' }, after, 20)).resolves.toBe(page);
      await expect(service.stats()).resolves.toBe(stats);

      expect(repository.searchForAdmin).toHaveBeenCalledWith({ q: 'ada', status: 'active' }, after, 20);
    });

    it('findById reads the database, not the cache', async () => {
      const user = userEntity();
      repository.findById.mockResolvedValue(user);
      await service.getProfile(user.id);

      await expect(service.findById(user.id)).resolves.toBe(user);
      expect(repository.findById).toHaveBeenCalledTimes(2);
    });
  });

  describe('create', () => {
    it("inserts in the caller's transaction and records user.created without the password hash", async () => {
      const created = userEntity({ emailVerified: false });
      repository.insert.mockResolvedValue(created);
      const newUser = { email: created.email, passwordHash: 'hash', name: created.name };

      await expect(service.create(tx.manager, newUser)).resolves.toBe(created);

      expect(repository.insert).toHaveBeenCalledWith(tx.manager, newUser);
      expect(tx.transaction).not.toHaveBeenCalled();
      expect(recordedEvents(events)).toEqual([
        { manager: tx.manager, event: { name: 'user.created', userId: created.id, data: { user: responseOf(created) } } },
      ]);
      expect(JSON.stringify(events.record.mock.calls)).not.toContain('hash');
    });

    it('records nothing when the email is taken', async () => {
      repository.insert.mockRejectedValue(new AppError('EMAIL_TAKEN', 409, 'taken'));

      const error = await rejectionOf(service.create(tx.manager, { email: 'a@example.com', passwordHash: 'h', name: 'A' }));

      expect(error).toMatchObject({ code: 'EMAIL_TAKEN', status: 409 });
      expect(events.record).not.toHaveBeenCalled();
    });
  });

  describe('passwords', () => {
    it('finds the account with its hash by email or id', async () => {
      const user = { ...userEntity(), passwordHash: 'h' };
      repository.findForPasswordCheck.mockResolvedValue(user);

      await expect(service.findForPasswordCheck({ id: user.id })).resolves.toBe(user);
      expect(repository.findForPasswordCheck).toHaveBeenCalledWith({ id: user.id });
    });

    it("rehashPasswordWithin stores the new hash in the caller's transaction and records no event", async () => {
      await service.rehashPasswordWithin(tx.manager, 'u1', 'new-hash');

      expect(repository.updatePasswordHash).toHaveBeenCalledTimes(1);
      expect(repository.updatePasswordHash).toHaveBeenCalledWith(tx.manager, 'u1', 'new-hash');
      // The same password: reset links stay valid, and no transaction of its own.
      expect(repository.replacePassword).not.toHaveBeenCalled();
      expect(tx.transaction).not.toHaveBeenCalled();
      expect(events.record).not.toHaveBeenCalled();
    });

    it("setPasswordWithin replaces the password and records user.password_changed in the caller's transaction", async () => {
      await expect(service.setPasswordWithin(tx.manager, 'u1', 'new-hash')).resolves.toBe(true);

      expect(repository.replacePassword).toHaveBeenCalledWith(tx.manager, 'u1', 'new-hash', undefined);
      expect(repository.updatePasswordHash).not.toHaveBeenCalled();
      expect(tx.transaction).not.toHaveBeenCalled();
      expect(recordedEvents(events)).toEqual([
        { manager: tx.manager, event: { name: 'user.password_changed', userId: 'u1', data: { userId: 'u1' } } },
      ]);
      expect(repository.replacePassword.mock.invocationCallOrder[0]).toBeLessThan(events.record.mock.invocationCallOrder[0]!);
      expect(JSON.stringify(events.record.mock.calls)).not.toContain('new-hash');
    });

    it('setPasswordWithin replaces only the hash it is given as replacing, and says so', async () => {
      await expect(service.setPasswordWithin(tx.manager, 'u1', 'new-hash', 'checked-hash')).resolves.toBe(true);

      expect(repository.replacePassword).toHaveBeenCalledWith(tx.manager, 'u1', 'new-hash', 'checked-hash');
      expect(recordedEvents(events).map(({ event }) => event.name)).toEqual(['user.password_changed']);
    });

    it('setPasswordWithin answers false and records no event when the stored hash is no longer the one replaced', async () => {
      repository.replacePassword.mockResolvedValue(false);

      await expect(service.setPasswordWithin(tx.manager, 'u1', 'new-hash', 'checked-hash')).resolves.toBe(false);

      expect(repository.replacePassword).toHaveBeenCalledWith(tx.manager, 'u1', 'new-hash', 'checked-hash');
      expect(events.record).not.toHaveBeenCalled();
    });

    it('setPasswordWithin answers false and records no event for a user that is gone', async () => {
      repository.replacePassword.mockResolvedValue(false);

      await expect(service.setPasswordWithin(tx.manager, 'gone', 'new-hash')).resolves.toBe(false);

      expect(events.record).not.toHaveBeenCalled();
    });
  });

  describe('markEmailVerifiedWithin', () => {
    it('marks an unverified email verified and says it changed', async () => {
      repository.lock.mockResolvedValue(userEntity({ id: 'u1', emailVerified: false }));

      await expect(service.markEmailVerifiedWithin(tx.manager, 'u1')).resolves.toBe(true);

      expect(repository.lock).toHaveBeenCalledWith(tx.manager, 'u1');
      expect(repository.update).toHaveBeenCalledWith(tx.manager, 'u1', { email_verified: true });
    });

    it('writes nothing when already verified', async () => {
      repository.lock.mockResolvedValue(userEntity({ id: 'u1', emailVerified: true }));

      await expect(service.markEmailVerifiedWithin(tx.manager, 'u1')).resolves.toBe(false);
      expect(repository.update).not.toHaveBeenCalled();
    });

    it('writes nothing for a user that is gone', async () => {
      await expect(service.markEmailVerifiedWithin(tx.manager, 'u1')).resolves.toBe(false);
      expect(repository.update).not.toHaveBeenCalled();
    });
  });

  describe('setStatusWithin', () => {
    it('sets the status and records user.status_changed', async () => {
      const until = new Date('2026-12-01T00:00:00Z');
      const user = userEntity({ id: 'u1', status: 'suspended', statusUntil: until });
      repository.update.mockResolvedValue(user);

      await expect(service.setStatusWithin(tx.manager, 'u1', 'suspended', 'spam', until)).resolves.toBe(user);

      expect(repository.update).toHaveBeenCalledWith(tx.manager, 'u1', { status: 'suspended', status_reason: 'spam', status_until: until });
      expect(recordedEvents(events)).toEqual([
        {
          manager: tx.manager,
          event: {
            name: 'user.status_changed',
            userId: 'u1',
            data: { userId: 'u1', status: 'suspended', reason: 'spam', until: '2026-12-01T00:00:00.000Z' },
          },
        },
      ]);
    });

    it('answers null and records nothing for a user that is gone', async () => {
      await expect(service.setStatusWithin(tx.manager, 'u1', 'blocked', null, null)).resolves.toBeNull();
      expect(events.record).not.toHaveBeenCalled();
    });
  });

  describe('onApplicationBootstrap', () => {
    const withAdmin = loadConfig({
      NODE_ENV: 'test',
      BCRYPT_COST: '4',
      ADMIN_EMAIL: 'Root@Example.com',
      ADMIN_PASSWORD: 'bootstrap-admin-password-1',
    });
    let log: jest.SpiedFunction<Logger['log']>;

    beforeEach(() => {
      log = jest.spyOn(Logger.prototype, 'log').mockImplementation(() => undefined);
    });

    afterEach(() => log.mockRestore());

    it('creates the first admin once, with a hashed password, and records user.created', async () => {
      const admin = userEntity({ email: 'root@example.com', role: 'admin', name: 'Administrator' });
      repository.insertIfAbsent.mockResolvedValue(admin);
      service = build(withAdmin);

      await service.onApplicationBootstrap();

      expect(repository.existsByEmail).toHaveBeenCalledWith('root@example.com');
      const [usedManager, created] = repository.insertIfAbsent.mock.calls[0] as [unknown, { passwordHash: string }];
      expect(usedManager).toBe(tx.manager);
      expect(created).toMatchObject({ email: 'root@example.com', role: 'admin', status: 'active', emailVerified: true });
      await expect(hasher.verify('bootstrap-admin-password-1', created.passwordHash)).resolves.toBe(true);
      expect(recordedEvents(events)).toEqual([
        { manager: tx.manager, event: { name: 'user.created', userId: admin.id, data: { user: responseOf(admin) } } },
      ]);
      expect(log).toHaveBeenCalledWith('created the bootstrap admin account from ADMIN_EMAIL');
    });

    it('records nothing when another replica created it first', async () => {
      repository.insertIfAbsent.mockResolvedValue(null);
      service = build(withAdmin);

      await service.onApplicationBootstrap();

      expect(repository.insertIfAbsent).toHaveBeenCalledTimes(1);
      expect(events.record).not.toHaveBeenCalled();
      expect(log).not.toHaveBeenCalled();
    });

    it('leaves an existing admin alone', async () => {
      repository.existsByEmail.mockResolvedValue(true);
      service = build(withAdmin);

      await service.onApplicationBootstrap();

      expect(repository.insertIfAbsent).not.toHaveBeenCalled();
      expect(tx.transaction).not.toHaveBeenCalled();
    });

    it('does nothing without ADMIN_EMAIL', async () => {
      await service.onApplicationBootstrap();

      expect(repository.existsByEmail).not.toHaveBeenCalled();
      expect(repository.insertIfAbsent).not.toHaveBeenCalled();
    });
  });
});
