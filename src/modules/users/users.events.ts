import type { DomainEvent } from '../../core/messaging/domain-event.js';
import type { UserResponse } from './dto/user.response.js';
import type { UserRole, UserStatus } from './user.entity.js';

/** Events the Users module publishes (names and data are the contract's). */
export const UserEvents = {
  created: (user: UserResponse): DomainEvent<'user.created', { user: UserResponse }> => ({
    name: 'user.created',
    userId: user.id,
    data: { user },
  }),
  updated: (user: UserResponse, changed: string[]): DomainEvent<'user.updated', { user: UserResponse; changed: string[] }> => ({
    name: 'user.updated',
    userId: user.id,
    data: { user, changed },
  }),
  deleted: (userId: string): DomainEvent<'user.deleted', { userId: string }> => ({
    name: 'user.deleted',
    userId,
    data: { userId },
  }),
  statusChanged: (
    userId: string,
    status: UserStatus,
    reason: string | null,
    until: Date | null,
  ): DomainEvent<'user.status_changed', { userId: string; status: UserStatus; reason: string | null; until: string | null }> => ({
    name: 'user.status_changed',
    userId,
    data: { userId, status, reason, until: until?.toISOString() ?? null },
  }),
  roleChanged: (userId: string, role: UserRole): DomainEvent<'user.role_changed', { userId: string; role: UserRole }> => ({
    name: 'user.role_changed',
    userId,
    data: { userId, role },
  }),
  passwordChanged: (userId: string): DomainEvent<'user.password_changed', { userId: string }> => ({
    name: 'user.password_changed',
    userId,
    data: { userId },
  }),
};
