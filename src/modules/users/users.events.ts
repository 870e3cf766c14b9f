import type { DomainEvent } from '../../core/messaging/domain-event.js';
import type {
  UserCreatedData,
  UserDeletedData,
  UserPasswordChangedData,
  UserRoleChangedData,
  UserStatusChangedData,
  UserUpdatedData,
} from './dto/user-events.dto.js';
import type { UserResponse } from './dto/user.response.js';
import type { UserRole, UserStatus } from './user.entity.js';

/** Events the Users module publishes (names and data are the contract's). */
export const UserEvents = {
  created: (user: UserResponse): DomainEvent<'user.created', UserCreatedData> => ({
    name: 'user.created',
    userId: user.id,
    data: { user },
  }),
  updated: (user: UserResponse, changed: string[]): DomainEvent<'user.updated', UserUpdatedData> => ({
    name: 'user.updated',
    userId: user.id,
    data: { user, changed },
  }),
  deleted: (userId: string): DomainEvent<'user.deleted', UserDeletedData> => ({
    name: 'user.deleted',
    userId,
    data: { userId },
  }),
  statusChanged: (
    userId: string,
    status: UserStatus,
    reason: string | null,
    until: Date | null,
  ): DomainEvent<'user.status_changed', UserStatusChangedData> => ({
    name: 'user.status_changed',
    userId,
    data: { userId, status, reason, until: until?.toISOString() ?? null },
  }),
  roleChanged: (userId: string, role: UserRole): DomainEvent<'user.role_changed', UserRoleChangedData> => ({
    name: 'user.role_changed',
    userId,
    data: { userId, role },
  }),
  passwordChanged: (userId: string): DomainEvent<'user.password_changed', UserPasswordChangedData> => ({
    name: 'user.password_changed',
    userId,
    data: { userId },
  }),
};
