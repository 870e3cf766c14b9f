import { type ExecutionContext, Logger } from '@nestjs/common';

import type { AuthUser } from '../../core/auth/auth.decorators.js';
import type { RouteAccessRules } from '../../core/auth/route-access.js';
import { AppError } from '../../core/errors/app-error.js';
import { ErrorCode } from '../../core/errors/error-codes.js';
import { JwtAuthGuard } from './jwt-auth.guard.js';
import type { JwtStrategy } from './jwt.strategy.js';

type Verdict = { success(user: AuthUser): void; fail(status: number): void; error(error: unknown): void };

/** A strategy as passport drives it: authenticate() ends in success(), fail() or error(). */
const strategy = (decide: (self: Verdict) => void) => ({ authenticate: jest.fn(function (this: Verdict) { decide(this); }) });

const user: AuthUser = { userId: 'u1', role: 'user', sessionId: 's1', exp: 0 };

function guardFor(fake: ReturnType<typeof strategy>) {
  const rules = { of: () => ({ isPublic: false, roles: undefined }) } as unknown as RouteAccessRules;
  const guard = new JwtAuthGuard(rules, fake as unknown as JwtStrategy);
  const request: { user?: AuthUser; headers: Record<string, string> } = { headers: {} };
  const context = {
    getType: () => 'http',
    switchToHttp: () => ({ getRequest: () => request, getResponse: () => ({}) }),
  } as unknown as ExecutionContext;
  return { activate: () => guard.canActivate(context) as Promise<boolean>, request };
}

describe('JwtAuthGuard', () => {
  let error: jest.SpiedFunction<Logger['error']>;

  beforeEach(() => {
    error = jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
  });
  afterEach(() => error.mockRestore());

  it('admits the user the strategy found', async () => {
    const { activate, request } = guardFor(strategy((self) => self.success(user)));

    await expect(activate()).resolves.toBe(true);
    expect(request.user).toEqual(user);
  });

  it('answers 401 when the strategy refuses the token (bad, expired or revoked)', async () => {
    const { activate } = guardFor(strategy((self) => self.fail(401)));

    await expect(activate()).rejects.toMatchObject({ status: 401, code: ErrorCode.UNAUTHENTICATED });
  });

  it('keeps an AppError of the strategy as it is (the revocation check could not be made: 503)', async () => {
    const unavailable = new AppError(ErrorCode.SERVICE_UNAVAILABLE, 503, 'The service is temporarily unavailable.');
    const { activate } = guardFor(strategy((self) => self.error(unavailable)));

    await expect(activate()).rejects.toBe(unavailable);
  });

  it('turns any other error of the strategy into a 503, never a 401 (clients discard tokens on a 401), and logs it', async () => {
    const cause = new Error('connect ECONNREFUSED 127.0.0.1:5432');
    const { activate } = guardFor(strategy((self) => self.error(cause)));

    const failure = await activate().catch((thrown: unknown) => thrown);

    expect(failure).toBeInstanceOf(AppError);
    expect(failure).toMatchObject({ status: 503, code: ErrorCode.SERVICE_UNAVAILABLE });
    expect(error).toHaveBeenCalledWith({ err: cause }, expect.any(String));
  });
});
