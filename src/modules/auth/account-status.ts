import { AppError } from '../../core/errors/app-error.js';
import { ErrorCode } from '../../core/errors/error-codes.js';
import type { UserStatus } from '../users/user.entity.js';

/** A suspension with an end date lapses by itself once that date has passed. */
export function suspensionLapsed(user: { status: UserStatus; statusUntil: Date | null }, now = new Date()): boolean {
  return user.status === 'suspended' && user.statusUntil !== null && user.statusUntil <= now;
}

/** The 403 for an account that may not sign in or refresh, if it is one. */
export function accountStatusError(user: { status: UserStatus; statusUntil: Date | null }): AppError | undefined {
  if (user.status === 'active' || suspensionLapsed(user)) return undefined;
  switch (user.status) {
    case 'blocked':
      return new AppError(ErrorCode.ACCOUNT_BLOCKED, 403, 'This account is blocked.');
    case 'suspended':
      return new AppError(ErrorCode.ACCOUNT_SUSPENDED, 403, 'This account is suspended.');
    case 'deactivated':
      return new AppError(ErrorCode.ACCOUNT_DEACTIVATED, 403, 'This account is deactivated.');
  }
}
