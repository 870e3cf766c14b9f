import { randomUUID } from 'node:crypto';

import { Logger } from '@nestjs/common';

import type { AuthUser } from '../../core/auth/auth.decorators.js';
import { PasswordHasher } from '../../core/auth/password-hasher.js';
import { loadConfig } from '../../core/config/config.js';
import type { UserEntity } from './user.entity.js';
import type { UsersRepository } from './users.repository.js';
import { UsersService } from './users.service.js';
import { rejectionOf } from '../../../test/utils/errors.js';

const config = loadConfig({ NODE_ENV: 'test', BCRYPT_COST: '4' });
const hasher = new PasswordHasher(config);

function userEntity(overrides: Partial<UserEntity> = {}): UserEntity {
  return {
    id: randomUUID(),
    email: 'ada@example.com',
    passwordHash: 'never-exposed',
    name: 'Ada Lovelace',
    mobile: '+447911123456',
    role: 'user',
    status: 'active',
    statusReason: null,
    statusUntil: null,
    emailVerified: true,
    createdAt: new Date('2026-01-01T00:00:00Z'),
    updatedAt: new Date('2026-01-02T00:00:00Z'),
    ...overrides,
  };
}

const viewer = (overrides: Partial<AuthUser> = {}): AuthUser => ({
  userId: randomUUID(),
  role: 'user',
  sessionId: randomUUID(),
  exp: 0,
  ...overrides,
});

describe('UsersService', () => {
  let repository: {
    findById: jest.Mock;
    updateProfile: jest.Mock;
    updateStatus: jest.Mock;
    existsByEmail: jest.Mock;
    insertIfAbsent: jest.Mock;
  };
  let service: UsersService;

  beforeEach(() => {
    repository = {
      findById: jest.fn().mockResolvedValue(null),
      updateProfile: jest.fn().mockResolvedValue(null),
      updateStatus: jest.fn().mockResolvedValue(undefined),
      existsByEmail: jest.fn().mockResolvedValue(false),
      insertIfAbsent: jest.fn().mockResolvedValue(true),
    };
    service = new UsersService(repository as unknown as UsersRepository, hasher, config);
  });

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

  describe('updateProfile', () => {
    it('reads instead of writing when nothing changes', async () => {
      const user = userEntity();
      repository.findById.mockResolvedValue(user);

      await expect(service.updateProfile(user.id, {})).resolves.toMatchObject({ id: user.id });
      expect(repository.updateProfile).not.toHaveBeenCalled();
    });

    it('writes the given changes', async () => {
      const user = userEntity({ name: 'Ada King' });
      repository.updateProfile.mockResolvedValue(user);

      await expect(service.updateProfile(user.id, { name: 'Ada King' })).resolves.toMatchObject({ name: 'Ada King' });
      expect(repository.updateProfile).toHaveBeenCalledWith(user.id, { name: 'Ada King' });
    });

    it('answers 404 USER_NOT_FOUND for a user that is gone', async () => {
      const error = await rejectionOf(service.updateProfile(randomUUID(), { mobile: null }));

      expect(error).toMatchObject({ code: 'USER_NOT_FOUND', status: 404 });
    });
  });

  describe('reactivate', () => {
    it('sets the account active', async () => {
      await service.reactivate('u1');

      expect(repository.updateStatus).toHaveBeenCalledWith('u1', 'active');
    });
  });

  describe('onApplicationBootstrap', () => {
    const withAdmin = loadConfig({
      NODE_ENV: 'test',
      BCRYPT_COST: '4',
      ADMIN_EMAIL: 'Root@Example.com',
      ADMIN_PASSWORD: 'bootstrap-admin-password-1',
    });

    it('creates the first admin once, with a hashed password', async () => {
      const log = jest.spyOn(Logger.prototype, 'log').mockImplementation(() => undefined);
      service = new UsersService(repository as unknown as UsersRepository, hasher, withAdmin);

      await service.onApplicationBootstrap();

      expect(repository.existsByEmail).toHaveBeenCalledWith('root@example.com');
      const [created] = repository.insertIfAbsent.mock.calls[0] as [{ passwordHash: string }];
      expect(created).toMatchObject({ email: 'root@example.com', role: 'admin', status: 'active', emailVerified: true });
      await expect(hasher.verify('bootstrap-admin-password-1', created.passwordHash)).resolves.toBe(true);
      expect(log).toHaveBeenCalledWith('created the bootstrap admin account from ADMIN_EMAIL');
      log.mockRestore();
    });

    it('leaves an existing admin alone', async () => {
      repository.existsByEmail.mockResolvedValue(true);
      service = new UsersService(repository as unknown as UsersRepository, hasher, withAdmin);

      await service.onApplicationBootstrap();

      expect(repository.insertIfAbsent).not.toHaveBeenCalled();
    });

    it('does nothing without ADMIN_EMAIL', async () => {
      await service.onApplicationBootstrap();

      expect(repository.existsByEmail).not.toHaveBeenCalled();
      expect(repository.insertIfAbsent).not.toHaveBeenCalled();
    });
  });
});
