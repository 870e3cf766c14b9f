import { randomUUID } from 'node:crypto';

import type { AuthUser } from '../../src/core/auth/auth.decorators.js';
import type { UserEntity } from '../../src/modules/users/user.entity.js';

/** A UserEntity as the repository returns it (no password hash); override any field. */
export function buildUserEntity(overrides: Partial<UserEntity> = {}): UserEntity {
  return {
    id: randomUUID(),
    email: 'ada@example.com',
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
  } as UserEntity;
}

/** What a verified access token says; override any field. */
export function buildAuthUser(overrides: Partial<AuthUser> = {}): AuthUser {
  return { userId: randomUUID(), role: 'user', sessionId: randomUUID(), exp: 0, ...overrides };
}
