import { AppError } from '../../core/errors/app-error.js';
import type { UserStatus } from '../users/user.entity.js';
import { accountStatusError, suspensionLapsed } from './account-status.js';

const HOUR = 3_600_000;
const past = () => new Date(Date.now() - HOUR);
const future = () => new Date(Date.now() + HOUR);

describe('accountStatusError', () => {
  it('lets an active account through', () => {
    expect(accountStatusError({ status: 'active', statusUntil: null })).toBeUndefined();
  });

  it.each<[UserStatus, string]>([
    ['blocked', 'ACCOUNT_BLOCKED'],
    ['suspended', 'ACCOUNT_SUSPENDED'],
    ['deactivated', 'ACCOUNT_DEACTIVATED'],
  ])('answers %s with a 403 %s', (status, code) => {
    const error = accountStatusError({ status, statusUntil: null });

    expect(error).toBeInstanceOf(AppError);
    expect(error).toMatchObject({ code, status: 403 });
  });

  it('blocks a suspension that has not ended yet', () => {
    expect(accountStatusError({ status: 'suspended', statusUntil: future() })).toMatchObject({
      code: 'ACCOUNT_SUSPENDED',
      status: 403,
    });
  });

  it('lets a lapsed suspension through', () => {
    expect(accountStatusError({ status: 'suspended', statusUntil: past() })).toBeUndefined();
  });

  it('keeps blocking a blocked account whatever its end date says', () => {
    expect(accountStatusError({ status: 'blocked', statusUntil: past() })).toMatchObject({ code: 'ACCOUNT_BLOCKED' });
    expect(accountStatusError({ status: 'deactivated', statusUntil: past() })).toMatchObject({ code: 'ACCOUNT_DEACTIVATED' });
  });
});

describe('suspensionLapsed', () => {
  const now = new Date('2026-01-01T12:00:00Z');

  it('is true once the end date has been reached', () => {
    expect(suspensionLapsed({ status: 'suspended', statusUntil: new Date('2026-01-01T11:59:59Z') }, now)).toBe(true);
    expect(suspensionLapsed({ status: 'suspended', statusUntil: now }, now)).toBe(true);
  });

  it('is false before the end date', () => {
    expect(suspensionLapsed({ status: 'suspended', statusUntil: new Date('2026-01-01T12:00:01Z') }, now)).toBe(false);
  });

  it('is false for a suspension without an end date', () => {
    expect(suspensionLapsed({ status: 'suspended', statusUntil: null }, now)).toBe(false);
  });

  it('is false for accounts that are not suspended', () => {
    expect(suspensionLapsed({ status: 'active', statusUntil: null }, now)).toBe(false);
    expect(suspensionLapsed({ status: 'blocked', statusUntil: new Date(0) }, now)).toBe(false);
  });
});
