import { type ExecutionContext, Logger } from '@nestjs/common';

import type { ApiKeyScope, AuthApiKey, AuthUser } from '../../core/auth/auth.decorators.js';
import type { RouteAccessRules } from '../../core/auth/route-access.js';
import { AppError } from '../../core/errors/app-error.js';
import { ErrorCode } from '../../core/errors/error-codes.js';
import type { ApiKeyCheck } from '../api-keys/api-key-check.js';
import { JwtAuthGuard } from './jwt-auth.guard.js';
import { type JwtStrategy, SESSION_ENDED } from './jwt.strategy.js';

type Verdict = { success(user: AuthUser): void; fail(challenge?: unknown, status?: number): void; error(error: unknown): void };

/** A strategy as passport drives it: authenticate() ends in success(), fail() or error(). */
const strategy = (decide: (self: Verdict) => void) => ({ authenticate: jest.fn(function (this: Verdict) { decide(this); }) });

const user: AuthUser = { userId: 'u1', role: 'user', sessionId: 's1', exp: 0 };

const service: AuthApiKey = { apiKeyId: 'k1', scopes: ['users:read'] };

function guardFor(
  fake: ReturnType<typeof strategy>,
  options: { headers?: Record<string, string>; apiKeyScope?: ApiKeyScope; roles?: string[]; key?: AuthApiKey | Error } = {},
) {
  const rules = { of: () => ({ isPublic: false, roles: options.roles, apiKeyScope: options.apiKeyScope }) } as unknown as RouteAccessRules;
  const apiKeys = {
    verify: jest.fn(async () => {
      if (options.key instanceof Error) throw options.key;
      return options.key;
    }),
    recordUse: jest.fn(),
  };
  const guard = new JwtAuthGuard(rules, fake as unknown as JwtStrategy, apiKeys as unknown as ApiKeyCheck);
  const request: { user?: AuthUser; apiKey?: AuthApiKey; headers: Record<string, string> } = { headers: options.headers ?? {} };
  const context = {
    getType: () => 'http',
    switchToHttp: () => ({ getRequest: () => request, getResponse: () => ({}) }),
  } as unknown as ExecutionContext;
  return { activate: () => guard.canActivate(context) as Promise<boolean>, request, apiKeys };
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

  describe('WWW-Authenticate (RFC 6750)', () => {
    const refusal = async (fail: (self: Verdict) => void, headers: Record<string, string> = { authorization: 'Bearer a.b.c' }, roles?: string[]) => {
      const failure = await guardFor(strategy(fail), { headers, roles }).activate().catch((thrown: unknown) => thrown);
      expect(failure).toBeInstanceOf(AppError);
      return failure as AppError;
    };
    const expired = Object.assign(new Error('jwt expired'), { name: 'TokenExpiredError' });

    it('challenges with the realm only when no Bearer token was sent (none, or another scheme)', async () => {
      for (const headers of [{}, { authorization: 'Basic YTpi' }, { authorization: 'Bearer' }] as Record<string, string>[]) {
        const failure = await refusal((self) => self.fail(new Error('No auth token')), headers);
        expect(failure).toMatchObject({ status: 401, code: ErrorCode.UNAUTHENTICATED, headers: { 'WWW-Authenticate': 'Bearer realm="user-service"' } });
      }
    });

    it.each([
      ['expired', (self: Verdict) => self.fail(expired), 'The access token expired'],
      ['of an ended session (checked, then remembered)', (self: Verdict) => self.fail(SESSION_ENDED, 401), 'The session has ended'],
      ['badly signed', (self: Verdict) => self.fail(Object.assign(new Error('invalid signature'), { name: 'JsonWebTokenError' })), 'The access token is invalid'],
      ['signed with an unknown key', (self: Verdict) => self.fail(new Error('no signing key with the kid of this token')), 'The access token is invalid'],
      ['refused for no reason given', (self: Verdict) => self.fail(401), 'The access token is invalid'],
    ])('says invalid_token for a token %s, with a safe description', async (_label, fail, description) => {
      const failure = await refusal(fail);

      expect(failure).toMatchObject({ status: 401, code: ErrorCode.UNAUTHENTICATED });
      expect(failure.headers).toEqual({ 'WWW-Authenticate': `Bearer realm="user-service", error="invalid_token", error_description="${description}"` });
      expect(failure.detail).not.toMatch(/signature|kid|key/i);
    });

    it('says insufficient_scope on the 403 for a role the token lacks', async () => {
      const failure = await refusal((self) => self.success(user), { authorization: 'Bearer a.b.c' }, ['admin']);

      expect(failure).toMatchObject({ status: 403, code: ErrorCode.FORBIDDEN });
      expect(failure.headers['WWW-Authenticate']).toMatch(/^Bearer realm="user-service", error="insufficient_scope"/);
    });
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

  describe('X-API-Key', () => {
    const withKey = { 'x-api-key': 'usk_abcdefgh_' + 'A'.repeat(43) };
    const neverCalled = () => strategy(() => { throw new Error('the access token path ran'); });

    it('admits a key with the scope on a route that accepts it, without a Bearer token, and records its use', async () => {
      const { activate, request, apiKeys } = guardFor(neverCalled(), { headers: withKey, apiKeyScope: 'users:read', roles: ['admin'], key: service });

      await expect(activate()).resolves.toBe(true);
      expect(request.apiKey).toEqual(service);
      expect(request.user).toBeUndefined();
      expect(apiKeys.verify).toHaveBeenCalledWith(withKey['x-api-key']);
      expect(apiKeys.recordUse).toHaveBeenCalledWith(service);
    });

    it('answers 401 on a route that does not accept keys, without looking the key up', async () => {
      const { activate, apiKeys } = guardFor(neverCalled(), { headers: withKey, key: service });

      await expect(activate()).rejects.toMatchObject({
        status: 401,
        code: ErrorCode.UNAUTHENTICATED,
        headers: { 'WWW-Authenticate': 'Bearer realm="user-service"' },
      });
      expect(apiKeys.verify).not.toHaveBeenCalled();
    });

    it('answers 401 for an unknown, revoked or expired key, 403 for a key without the scope', async () => {
      const unknown = guardFor(neverCalled(), { headers: withKey, apiKeyScope: 'users:read', key: undefined });
      await expect(unknown.activate()).rejects.toMatchObject({ status: 401, code: ErrorCode.UNAUTHENTICATED, headers: { 'WWW-Authenticate': 'Bearer realm="user-service"' } });

      const scopeless = guardFor(neverCalled(), { headers: withKey, apiKeyScope: 'users:read', key: { apiKeyId: 'k2', scopes: [] } });
      await expect(scopeless.activate()).rejects.toMatchObject({ status: 403, code: ErrorCode.FORBIDDEN });
      expect(scopeless.apiKeys.recordUse).not.toHaveBeenCalled();
    });

    it('answers 503, never 401, when the key cannot be checked', async () => {
      const { activate } = guardFor(neverCalled(), { headers: withKey, apiKeyScope: 'users:read', key: new Error('connect ECONNREFUSED') });

      await expect(activate()).rejects.toMatchObject({ status: 503, code: ErrorCode.SERVICE_UNAVAILABLE });
    });

    it('lets the access token decide when both headers are sent', async () => {
      const { activate, request, apiKeys } = guardFor(strategy((self) => self.success(user)), {
        headers: { ...withKey, authorization: 'Bearer x' },
        apiKeyScope: 'users:read',
        key: service,
      });

      await expect(activate()).resolves.toBe(true);
      expect(request.user).toEqual(user);
      expect(apiKeys.verify).not.toHaveBeenCalled();
    });
  });
});
