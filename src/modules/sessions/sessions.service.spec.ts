import { randomUUID } from 'node:crypto';

import { JwtService } from '@nestjs/jwt';
import type { EntityManager } from 'typeorm';

import type { AuthUser } from '../../core/auth/auth.decorators.js';
import type { EventPublisher } from '../../core/messaging/event-publisher.js';
import { generateRsaKeyPair, JWT_ALGORITHM } from '../../core/auth/signing-keys.js';
import { loadConfig } from '../../core/config/config.js';
import type { UserRole, UserStatus } from '../users/user.entity.js';
import type { TokensResponse } from '../auth/dto/auth.response.js';
import { RefreshTokenEntity } from './refresh-token.entity.js';
import { SessionEntity } from './session.entity.js';
import type { SessionRevocations } from './session-revocations.js';
import type { LockedSession, LockedUser, SessionsRepository } from './sessions.repository.js';
import { SessionsService } from './sessions.service.js';
import { type AccessTokenClaims, TokensService } from './tokens.service.js';
import { rejectionOf } from '../../../test/utils/errors.js';
import { fakeEventPublisher, type FakeEventPublisher, recordedEvents } from '../../../test/utils/unit-doubles.js';

const keys = generateRsaKeyPair();
const config = loadConfig({ NODE_ENV: 'test', SESSION_IDLE_TTL_SECONDS: '3600', REFRESH_REUSE_GRACE_SECONDS: '10' });
const jwt = new JwtService({
  privateKey: keys.privateKeyPem,
  publicKey: keys.publicKeyPem,
  signOptions: {
    algorithm: JWT_ALGORITHM,
    issuer: config.jwt.issuer,
    audience: config.jwt.audience,
    expiresIn: config.jwt.accessTtlSeconds,
  },
  verifyOptions: { algorithms: [JWT_ALGORITHM], issuer: config.jwt.issuer, audience: config.jwt.audience },
});
const tokensService = new TokensService(jwt, config);

const SECOND = 1000;
const manager = { name: 'fake-manager' } as unknown as EntityManager;

function fakeRepository() {
  return {
    transaction: jest.fn(<T>(work: (m: EntityManager) => Promise<T>) => work(manager)),
    create: jest.fn().mockResolvedValue(undefined),
    addRefreshToken: jest.fn().mockResolvedValue(undefined),
    lockByRefreshToken: jest.fn(),
    spendRefreshToken: jest.fn().mockResolvedValue(undefined),
    touch: jest.fn().mockResolvedValue(undefined),
    revoke: jest.fn().mockResolvedValue([]),
    listActive: jest.fn().mockResolvedValue([]),
    listAll: jest.fn().mockResolvedValue([]),
    deleteEndedBefore: jest.fn().mockResolvedValue(0),
    lockUser: jest.fn(),
    revokeBeyondNewest: jest.fn().mockResolvedValue([]),
  };
}

interface Found {
  locked: LockedSession;
  token: RefreshTokenEntity;
}

function found(
  refreshToken: string,
  overrides: {
    session?: Partial<SessionEntity>;
    token?: Partial<RefreshTokenEntity>;
    user?: { status?: UserStatus; statusUntil?: Date | null };
  } = {},
): Found {
  const now = Date.now();
  const session = Object.assign(new SessionEntity(), {
    id: randomUUID(),
    userId: randomUUID(),
    createdAt: new Date(now - 60 * SECOND),
    lastUsedAt: new Date(now - 30 * SECOND),
    expiresAt: new Date(now + 86_400 * SECOND),
    revokedAt: null,
    revokedReason: null,
    ip: '203.0.113.7',
    userAgent: 'jest',
    ...overrides.session,
  });
  const token = Object.assign(new RefreshTokenEntity(), {
    tokenHash: TokensService.hash(refreshToken),
    sessionId: session.id,
    createdAt: new Date(now - 30 * SECOND),
    spentAt: null,
    replay: null,
    ...overrides.token,
  });
  return {
    locked: { session, user: { role: 'user', status: 'active', statusUntil: null, ...overrides.user } },
    token,
  };
}

describe('SessionsService', () => {
  let repository: ReturnType<typeof fakeRepository>;
  let revocations: { markRevoked: jest.Mock };
  let events: FakeEventPublisher & EventPublisher;
  let service: SessionsService;

  beforeEach(() => {
    repository = fakeRepository();
    revocations = { markRevoked: jest.fn().mockResolvedValue(undefined) };
    events = fakeEventPublisher();
    service = new SessionsService(
      repository as unknown as SessionsRepository,
      tokensService,
      revocations as unknown as SessionRevocations,
      events,
      config,
    );
  });

  describe('start', () => {
    it('creates the session named in the access token, storing only the refresh token hash', async () => {
      const user = { id: randomUUID(), role: 'admin' };

      const tokens = await service.start(manager, user, { ip: '198.51.100.1', userAgent: 'curl/8' });

      expect(repository.create).toHaveBeenCalledTimes(1);
      const [usedManager, session, ttl, hash] = repository.create.mock.calls[0] as [EntityManager, { id: string }, number, Buffer];
      expect(usedManager).toBe(manager);
      expect(session).toEqual({ id: expect.any(String), userId: user.id, ip: '198.51.100.1', userAgent: 'curl/8' });
      expect(ttl).toBe(config.session.absoluteTtlSeconds);
      expect(hash.equals(TokensService.hash(tokens.refreshToken))).toBe(true);

      const claims = await jwt.verifyAsync<AccessTokenClaims & { sub: string }>(tokens.accessToken);
      expect(claims).toMatchObject({ sub: user.id, sid: session.id, role: 'admin' });
      expect(tokens).toMatchObject({ tokenType: 'Bearer', expiresIn: config.jwt.accessTtlSeconds });
    });
  });

  describe('signIn', () => {
    const client = { ip: '198.51.100.1', userAgent: 'curl/8' };
    /** The hash the caller checked the password against. */
    const CHECKED = '$2b$04$checkedcheckedcheckedcheckedcheckedcheckedcheckedche';
    const lockedUser = (
      overrides: { role?: UserRole; status?: UserStatus; statusUntil?: Date | null; passwordHash?: string } = {},
    ): LockedUser => ({
      role: 'user',
      status: 'active',
      statusUntil: null,
      passwordHash: CHECKED,
      ...overrides,
    });
    /** Tracks whether the fake transaction is open and whether it committed. */
    const trackTransaction = () => {
      const state = { open: false, committed: false };
      repository.transaction.mockImplementation(async <T>(work: (m: EntityManager) => Promise<T>) => {
        state.open = true;
        try {
          const result = await work(manager);
          state.committed = true;
          return result;
        } finally {
          state.open = false;
        }
      });
      return state;
    };

    it("locks the user's row, opens a session with the role read under the lock and returns that role", async () => {
      const userId = randomUUID();
      repository.lockUser.mockResolvedValue(lockedUser({ role: 'admin' }));

      const signedIn = await service.signIn(userId, client, CHECKED);

      expect(signedIn).toBeDefined();
      const { tokens, role } = signedIn!;

      expect(role).toBe('admin');
      expect(repository.transaction).toHaveBeenCalledTimes(1);
      expect(repository.lockUser).toHaveBeenCalledWith(manager, userId);
      expect(repository.create).toHaveBeenCalledWith(
        manager,
        { id: expect.any(String), userId, ip: client.ip, userAgent: client.userAgent },
        config.session.absoluteTtlSeconds,
        expect.any(Buffer),
      );
      const claims = await jwt.verifyAsync<AccessTokenClaims & { sub: string }>(tokens.accessToken);
      expect(claims).toMatchObject({ sub: userId, role: 'admin' });
      expect(repository.lockUser.mock.invocationCallOrder[0]).toBeLessThan(repository.create.mock.invocationCallOrder[0]!);
    });

    it('keeps the newest MAX_SESSIONS_PER_USER - 1 sessions, so the new one makes MAX_SESSIONS_PER_USER', async () => {
      const userId = randomUUID();
      repository.lockUser.mockResolvedValue(lockedUser());

      await service.signIn(userId, client, CHECKED);

      expect(repository.revokeBeyondNewest).toHaveBeenCalledWith(
        manager,
        userId,
        config.session.maxPerUser - 1,
        config.session.idleTtlSeconds,
      );
      expect(repository.revokeBeyondNewest.mock.invocationCallOrder[0]).toBeLessThan(repository.create.mock.invocationCallOrder[0]!);
    });

    it('keeps none of the old sessions with MAX_SESSIONS_PER_USER=1', async () => {
      const single = new SessionsService(
        repository as unknown as SessionsRepository,
        tokensService,
        revocations as unknown as SessionRevocations,
        events,
        loadConfig({ NODE_ENV: 'test', MAX_SESSIONS_PER_USER: '1' }),
      );
      repository.lockUser.mockResolvedValue(lockedUser());

      await single.signIn('user-1', client, CHECKED);

      expect(repository.revokeBeyondNewest).toHaveBeenCalledWith(manager, 'user-1', 0, expect.any(Number));
    });

    it('records session.revoked (session_limit) for each trimmed session in the transaction and refuses their access tokens after commit', async () => {
      const state = trackTransaction();
      repository.lockUser.mockResolvedValue(lockedUser());
      repository.revokeBeyondNewest.mockResolvedValue(['old-1', 'old-2']);
      const openWhen: Record<string, boolean> = {};
      events.record.mockImplementation(async () => void (openWhen.record = state.open));
      revocations.markRevoked.mockImplementation(async () => {
        openWhen.markRevoked = state.open;
        expect(state.committed).toBe(true);
      });

      await service.signIn('user-1', client, CHECKED);

      expect(openWhen).toEqual({ record: true, markRevoked: false });
      expect(recordedEvents(events).map(({ manager: m, event }) => [m, event.name, event.data])).toEqual([
        [manager, 'session.revoked', expect.objectContaining({ userId: 'user-1', sessionId: 'old-1', reason: 'session_limit' })],
        [manager, 'session.revoked', expect.objectContaining({ userId: 'user-1', sessionId: 'old-2', reason: 'session_limit' })],
      ]);
      expect(revocations.markRevoked).toHaveBeenCalledTimes(1);
      expect(revocations.markRevoked).toHaveBeenCalledWith(['old-1', 'old-2']);
    });

    it('records nothing when no session is beyond the limit', async () => {
      repository.lockUser.mockResolvedValue(lockedUser());

      await service.signIn('user-1', client, CHECKED);

      expect(recordedEvents(events)).toEqual([]);
      expect(revocations.markRevoked.mock.calls.flat(2)).toEqual([]);
    });

    it('answers undefined for a user that is gone, running nothing under the lock and opening or ending nothing', async () => {
      repository.lockUser.mockResolvedValue(undefined);
      const withinLock = jest.fn().mockResolvedValue(undefined);

      await expect(service.signIn('gone', client, CHECKED, withinLock)).resolves.toBeUndefined();

      expect(withinLock).not.toHaveBeenCalled();
      expect(repository.revokeBeyondNewest).not.toHaveBeenCalled();
      expect(repository.create).not.toHaveBeenCalled();
      expect(revocations.markRevoked).not.toHaveBeenCalled();
    });

    it.each([
      ['changed by a reset or change that committed during the check', '$2b$04$anotheranotheranotheranotheranotheranotheranotheran'],
      // The comparison is of hashes: even a concurrent sign-in's re-hash of the same password counts as a change.
      ['re-hashed by a concurrent sign-in', `${CHECKED.slice(0, -1)}x`],
    ])(
      'answers undefined when the stored hash was %s, without running withinLock or opening a session',
      async (_label, storedHash) => {
        repository.lockUser.mockResolvedValue(lockedUser({ passwordHash: storedHash }));
        const withinLock = jest.fn().mockResolvedValue(undefined);

        await expect(service.signIn('user-1', client, CHECKED, withinLock)).resolves.toBeUndefined();

        expect(repository.lockUser).toHaveBeenCalledWith(manager, 'user-1');
        expect(withinLock).not.toHaveBeenCalled();
        expect(repository.revokeBeyondNewest).not.toHaveBeenCalled();
        expect(repository.create).not.toHaveBeenCalled();
        expect(repository.addRefreshToken).not.toHaveBeenCalled();
        expect(events.record).not.toHaveBeenCalled();
        expect(revocations.markRevoked).not.toHaveBeenCalled();
      },
    );

    it('checks the password before the account: a changed hash on a blocked account answers undefined, not 403', async () => {
      repository.lockUser.mockResolvedValue(lockedUser({ status: 'blocked', passwordHash: 'another-hash' }));

      await expect(service.signIn('user-1', client, CHECKED)).resolves.toBeUndefined();
    });

    it('runs withinLock with the transaction, after the lock and the checks, before any session is trimmed or opened', async () => {
      const state = trackTransaction();
      const order: string[] = [];
      repository.lockUser.mockImplementation(async () => (order.push('lockUser'), lockedUser()));
      repository.revokeBeyondNewest.mockImplementation(async () => (order.push('revokeBeyondNewest'), []));
      repository.create.mockImplementation(async () => void order.push('create'));
      const withinLock = jest.fn(async (m: EntityManager) => {
        expect(m).toBe(manager);
        expect(state.open).toBe(true);
        order.push('withinLock');
      });

      await expect(service.signIn('user-1', client, CHECKED, withinLock)).resolves.toMatchObject({ role: 'user' });

      expect(withinLock).toHaveBeenCalledTimes(1);
      expect(order).toEqual(['lockUser', 'withinLock', 'revokeBeyondNewest', 'create']);
      expect(state.committed).toBe(true);
    });

    it('opens no session and refuses no token when withinLock fails (the transaction rolls back)', async () => {
      const state = trackTransaction();
      repository.lockUser.mockResolvedValue(lockedUser());
      repository.revokeBeyondNewest.mockResolvedValue(['old-1']);
      const withinLock = jest.fn().mockRejectedValue(new Error('update failed'));

      await expect(service.signIn('user-1', client, CHECKED, withinLock)).rejects.toThrow('update failed');

      expect(state.committed).toBe(false);
      expect(repository.revokeBeyondNewest).not.toHaveBeenCalled();
      expect(repository.create).not.toHaveBeenCalled();
      expect(revocations.markRevoked).not.toHaveBeenCalled();
    });

    it.each([
      ['blocked', null, 'ACCOUNT_BLOCKED'],
      ['suspended', null, 'ACCOUNT_SUSPENDED'],
      ['suspended', new Date(Date.now() + 3600 * SECOND), 'ACCOUNT_SUSPENDED'],
      ['deactivated', null, 'ACCOUNT_DEACTIVATED'],
    ] as const)('checks the status again under the lock: refuses a %s user (until %s) with 403 %s', async (status, statusUntil, code) => {
      repository.lockUser.mockResolvedValue(lockedUser({ status, statusUntil }));
      const withinLock = jest.fn().mockResolvedValue(undefined);

      const error = await rejectionOf(service.signIn('user-1', client, CHECKED, withinLock));

      expect(error).toMatchObject({ code, status: 403 });
      expect(withinLock).not.toHaveBeenCalled();
      expect(repository.revokeBeyondNewest).not.toHaveBeenCalled();
      expect(repository.create).not.toHaveBeenCalled();
      expect(events.record).not.toHaveBeenCalled();
      expect(revocations.markRevoked).not.toHaveBeenCalled();
    });

    it('lets a user whose suspension has lapsed sign in', async () => {
      repository.lockUser.mockResolvedValue(lockedUser({ status: 'suspended', statusUntil: new Date(Date.now() - SECOND) }));

      await expect(service.signIn('user-1', client, CHECKED)).resolves.toMatchObject({ role: 'user', tokens: { tokenType: 'Bearer' } });
    });

    it('refuses no access token when the transaction fails after trimming', async () => {
      trackTransaction();
      repository.lockUser.mockResolvedValue(lockedUser());
      repository.revokeBeyondNewest.mockResolvedValue(['old-1']);
      repository.create.mockRejectedValue(new Error('insert failed'));

      await expect(service.signIn('user-1', client, CHECKED)).rejects.toThrow('insert failed');

      expect(revocations.markRevoked).not.toHaveBeenCalled();
    });
  });

  describe('listActiveOf', () => {
    it("lists any user's active sessions with the idle timeout", async () => {
      const sessions = [Object.assign(new SessionEntity(), { id: 's1' })];
      repository.listActive.mockResolvedValue(sessions);

      await expect(service.listActiveOf('user-1')).resolves.toBe(sessions);
      expect(repository.listActive).toHaveBeenCalledWith('user-1', config.session.idleTtlSeconds);
    });
  });

  describe('refresh', () => {
    const oldToken = 'the-refresh-token-being-presented';

    it('answers an unknown token with 401 UNAUTHENTICATED', async () => {
      repository.lockByRefreshToken.mockResolvedValue(undefined);

      const error = await rejectionOf(service.refresh(oldToken));

      expect(error).toMatchObject({ code: 'UNAUTHENTICATED', status: 401 });
      expect(repository.lockByRefreshToken).toHaveBeenCalledWith(manager, TokensService.hash(oldToken));
      expect(repository.addRefreshToken).not.toHaveBeenCalled();
    });

    it.each([
      ['revoked', { revokedAt: new Date(Date.now() - SECOND), revokedReason: 'logout' as const }],
      ['past its absolute expiry', { expiresAt: new Date(Date.now() - SECOND) }],
      ['idle for longer than the idle timeout', { lastUsedAt: new Date(Date.now() - 3601 * SECOND) }],
    ])('answers a token of a session %s with 401 UNAUTHENTICATED', async (_label, session) => {
      repository.lockByRefreshToken.mockResolvedValue(found(oldToken, { session }));

      const error = await rejectionOf(service.refresh(oldToken));

      expect(error).toMatchObject({ code: 'UNAUTHENTICATED', status: 401 });
      expect(repository.addRefreshToken).not.toHaveBeenCalled();
      expect(repository.spendRefreshToken).not.toHaveBeenCalled();
      expect(repository.revoke).not.toHaveBeenCalled();
    });

    it('rotates a valid token: new tokens, old one spent with a replay only it can open', async () => {
      const row = found(oldToken);
      repository.lockByRefreshToken.mockResolvedValue(row);
      const { session } = row.locked;

      const tokens = await service.refresh(oldToken);

      expect(tokens.refreshToken).not.toBe(oldToken);
      expect(tokens).toMatchObject({ tokenType: 'Bearer', expiresIn: config.jwt.accessTtlSeconds });
      const claims = await jwt.verifyAsync<AccessTokenClaims & { sub: string }>(tokens.accessToken);
      expect(claims).toMatchObject({ sub: session.userId, sid: session.id, role: 'user' });

      expect(repository.addRefreshToken).toHaveBeenCalledWith(manager, session.id, TokensService.hash(tokens.refreshToken));
      expect(repository.spendRefreshToken).toHaveBeenCalledWith(manager, TokensService.hash(oldToken), expect.any(Buffer));
      expect(repository.touch).toHaveBeenCalledWith(manager, session.id);

      const replay = repository.spendRefreshToken.mock.calls[0]![2] as Buffer;
      expect(TokensService.openReplay(oldToken, replay)).toEqual(tokens);
      expect(TokensService.openReplay(tokens.refreshToken, replay)).toBeUndefined();
      expect(revocations.markRevoked).not.toHaveBeenCalled();
      expect(events.record).not.toHaveBeenCalled();
    });

    it('lets a user whose suspension has lapsed refresh', async () => {
      repository.lockByRefreshToken.mockResolvedValue(
        found(oldToken, { user: { status: 'suspended', statusUntil: new Date(Date.now() - SECOND) } }),
      );

      await expect(service.refresh(oldToken)).resolves.toMatchObject({ tokenType: 'Bearer' });
    });

    it.each([
      ['blocked', null, 'ACCOUNT_BLOCKED'],
      ['suspended', null, 'ACCOUNT_SUSPENDED'],
      ['suspended', new Date(Date.now() + 3600 * SECOND), 'ACCOUNT_SUSPENDED'],
      ['deactivated', null, 'ACCOUNT_DEACTIVATED'],
    ] as const)('refuses a %s user (until %s) with 403 %s and issues nothing', async (status, statusUntil, code) => {
      repository.lockByRefreshToken.mockResolvedValue(found(oldToken, { user: { status, statusUntil } }));

      const error = await rejectionOf(service.refresh(oldToken));

      expect(error).toMatchObject({ code, status: 403 });
      expect(repository.addRefreshToken).not.toHaveBeenCalled();
      expect(repository.spendRefreshToken).not.toHaveBeenCalled();
    });

    it('gives a token spent within the grace window the same answer again, issuing nothing new', async () => {
      const firstAnswer: TokensResponse = { accessToken: 'a.b.c', refreshToken: 'next', tokenType: 'Bearer', expiresIn: 900 };
      repository.lockByRefreshToken.mockResolvedValue(
        found(oldToken, {
          token: { spentAt: new Date(Date.now() - 3 * SECOND), replay: TokensService.sealReplay(oldToken, firstAnswer) },
        }),
      );

      await expect(service.refresh(oldToken)).resolves.toEqual(firstAnswer);

      expect(repository.addRefreshToken).not.toHaveBeenCalled();
      expect(repository.spendRefreshToken).not.toHaveBeenCalled();
      expect(repository.touch).not.toHaveBeenCalled();
      expect(repository.revoke).not.toHaveBeenCalled();
      expect(revocations.markRevoked).not.toHaveBeenCalled();
      expect(events.record).not.toHaveBeenCalled();
    });

    it('replays the answer of a real rotation', async () => {
      const first = found(oldToken);
      repository.lockByRefreshToken.mockResolvedValue(first);
      const tokens = await service.refresh(oldToken);
      const replay = repository.spendRefreshToken.mock.calls[0]![2] as Buffer;
      repository.lockByRefreshToken.mockResolvedValue({
        ...first,
        token: Object.assign(new RefreshTokenEntity(), { ...first.token, spentAt: new Date(), replay }),
      });

      await expect(service.refresh(oldToken)).resolves.toEqual(tokens);
      expect(repository.addRefreshToken).toHaveBeenCalledTimes(1);
    });

    it.each([
      ['after the grace window', { spentAt: new Date(Date.now() - 11 * SECOND), replay: 'sealed' }],
      ['within the grace window but without a replay', { spentAt: new Date(Date.now() - SECOND), replay: null }],
      ['within the grace window with a replay it cannot open', { spentAt: new Date(Date.now() - SECOND), replay: 'other' }],
    ] as const)('ends the session when a token is reused %s', async (_label, spent) => {
      const answer: TokensResponse = { accessToken: 'a.b.c', refreshToken: 'next', tokenType: 'Bearer', expiresIn: 900 };
      const replay =
        spent.replay === null ? null : TokensService.sealReplay(spent.replay === 'sealed' ? oldToken : 'another-token', answer);
      const row = found(oldToken, { token: { spentAt: spent.spentAt, replay } });
      const { session } = row.locked;
      repository.lockByRefreshToken.mockResolvedValue(row);
      repository.revoke.mockResolvedValue([session.id]);

      const error = await rejectionOf(service.refresh(oldToken));

      expect(error).toMatchObject({ code: 'REFRESH_TOKEN_REUSED', status: 401 });
      expect(repository.revoke).toHaveBeenCalledWith(session.userId, 'refresh_token_reuse', { sessionId: session.id }, manager);
      expect(revocations.markRevoked).toHaveBeenCalledWith([session.id]);
      expect(recordedEvents(events).map(({ manager: m, event }) => [m, event.name, event.data])).toEqual([
        [manager, 'session.revoked', expect.objectContaining({ sessionId: session.id, reason: 'refresh_token_reuse' })],
      ]);
      expect(repository.addRefreshToken).not.toHaveBeenCalled();
      expect(repository.spendRefreshToken).not.toHaveBeenCalled();
    });

    it('commits the revocation before failing the request', async () => {
      const row = found(oldToken, { token: { spentAt: new Date(Date.now() - 60 * SECOND), replay: null } });
      repository.lockByRefreshToken.mockResolvedValue(row);
      let committed = false;
      repository.transaction.mockImplementation(async <T>(work: (m: EntityManager) => Promise<T>) => {
        const result = await work(manager);
        committed = true;
        return result;
      });
      repository.revoke.mockResolvedValue([row.locked.session.id]);
      events.record.mockImplementation(() => {
        expect(committed).toBe(false);
        return Promise.resolve();
      });
      revocations.markRevoked.mockImplementation(() => {
        expect(committed).toBe(true);
        return Promise.resolve();
      });

      await expect(service.refresh(oldToken)).rejects.toMatchObject({ code: 'REFRESH_TOKEN_REUSED' });
      expect(committed).toBe(true);
      expect(events.record).toHaveBeenCalledTimes(1);
      expect(revocations.markRevoked).toHaveBeenCalledTimes(1);
    });
  });

  describe('list', () => {
    it('maps the active sessions, marking the current one', async () => {
      const user: AuthUser = { userId: randomUUID(), role: 'user', sessionId: randomUUID(), exp: 0 };
      const created = new Date('2026-01-01T00:00:00Z');
      const sessions = [user.sessionId, randomUUID()].map((id) =>
        Object.assign(new SessionEntity(), { id, userId: user.userId, createdAt: created, lastUsedAt: created, ip: null, userAgent: null }),
      );
      repository.listActive.mockResolvedValue(sessions);

      const listed = await service.list(user);

      expect(repository.listActive).toHaveBeenCalledWith(user.userId, config.session.idleTtlSeconds);
      expect(listed.map((s) => [s.id, s.current])).toEqual([
        [sessions[0]!.id, true],
        [sessions[1]!.id, false],
      ]);
      expect(listed[0]).toMatchObject({ createdAt: created.toISOString(), lastUsedAt: created.toISOString() });
    });
  });

  describe('revokeOwn', () => {
    const user: AuthUser = { userId: randomUUID(), role: 'user', sessionId: randomUUID(), exp: 0 };

    it('answers 404 SESSION_NOT_FOUND when no session of the user was ended', async () => {
      repository.revoke.mockResolvedValue([]);
      const otherId = randomUUID();

      const error = await rejectionOf(service.revokeOwn(user, otherId));

      expect(error).toMatchObject({ code: 'SESSION_NOT_FOUND', status: 404 });
      expect(repository.revoke).toHaveBeenCalledWith(user.userId, 'user_revoked', { sessionId: otherId }, manager);
      expect(recordedEvents(events)).toEqual([]);
    });

    it('ends the session and marks it revoked', async () => {
      const sessionId = randomUUID();
      repository.revoke.mockResolvedValue([sessionId]);

      await service.revokeOwn(user, sessionId);

      expect(repository.revoke).toHaveBeenCalledWith(user.userId, 'user_revoked', { sessionId }, manager);
      expect(revocations.markRevoked).toHaveBeenCalledWith([sessionId]);
      expect(recordedEvents(events).map(({ event }) => [event.name, event.data])).toEqual([
        ['session.revoked', expect.objectContaining({ userId: user.userId, sessionId, reason: 'user_revoked' })],
      ]);
    });
  });

  describe('end', () => {
    it('ends the sessions in a transaction, records session.revoked in it, refuses their tokens after commit', async () => {
      const ids = [randomUUID(), randomUUID()];
      repository.revoke.mockResolvedValue(ids);
      let open = false;
      repository.transaction.mockImplementation(async <T>(work: (m: EntityManager) => Promise<T>) => {
        open = true;
        try {
          return await work(manager);
        } finally {
          open = false;
        }
      });
      const openWhen: Record<string, boolean> = {};
      repository.revoke.mockImplementation(async () => ((openWhen.revoke = open), ids));
      events.record.mockImplementation(async () => void (openWhen.record = open));
      revocations.markRevoked.mockImplementation(async () => void (openWhen.markRevoked = open));

      await expect(service.end('user-1', 'logout_all', { exceptSessionId: 'keep' })).resolves.toEqual(ids);

      expect(repository.transaction).toHaveBeenCalledTimes(1);
      expect(repository.revoke).toHaveBeenCalledWith('user-1', 'logout_all', { exceptSessionId: 'keep' }, manager);
      expect(revocations.markRevoked).toHaveBeenCalledWith(ids);
      expect(openWhen).toEqual({ revoke: true, record: true, markRevoked: false });
      expect(recordedEvents(events).map(({ manager: m, event }) => [m, event.name, (event.data as { sessionId: string }).sessionId])).toEqual([
        [manager, 'session.revoked', ids[0]],
        [manager, 'session.revoked', ids[1]],
      ]);
    });

    it('refuses no tokens when the transaction fails', async () => {
      repository.revoke.mockResolvedValue(['s1']);
      events.record.mockRejectedValue(new Error('outbox insert failed'));

      await expect(service.end('user-1', 'logout')).rejects.toThrow('outbox insert failed');

      expect(revocations.markRevoked).not.toHaveBeenCalled();
    });
  });

  describe('endWithin', () => {
    it("ends sessions in the caller's transaction and records one session.revoked each, without refusing tokens", async () => {
      const callerManager = { name: 'caller' } as unknown as EntityManager;
      repository.revoke.mockResolvedValue(['s1', 's2']);
      const before = Date.now();

      await expect(service.endWithin(callerManager, 'user-1', 'password_reset')).resolves.toEqual(['s1', 's2']);

      expect(repository.transaction).not.toHaveBeenCalled();
      expect(repository.revoke).toHaveBeenCalledWith('user-1', 'password_reset', undefined, callerManager);
      expect(events.record).toHaveBeenCalledTimes(1);
      const recorded = recordedEvents(events);
      expect(recorded.map(({ manager: m }) => m)).toEqual([callerManager, callerManager]);
      expect(recorded.map(({ event }) => event)).toEqual([
        {
          name: 'session.revoked',
          userId: 'user-1',
          data: { userId: 'user-1', sessionId: 's1', reason: 'password_reset', accessTokenExpiresAt: expect.any(String) },
        },
        {
          name: 'session.revoked',
          userId: 'user-1',
          data: { userId: 'user-1', sessionId: 's2', reason: 'password_reset', accessTokenExpiresAt: expect.any(String) },
        },
      ]);
      // No access token of an ended session outlives this moment plus one access token lifetime.
      const expiresAt = Date.parse((recorded[0]!.event.data as { accessTokenExpiresAt: string }).accessTokenExpiresAt);
      expect(expiresAt).toBeGreaterThanOrEqual(before + config.jwt.accessTtlSeconds * SECOND);
      expect(expiresAt).toBeLessThanOrEqual(Date.now() + config.jwt.accessTtlSeconds * SECOND);
      expect(revocations.markRevoked).not.toHaveBeenCalled();
    });

    it('passes the scope through', async () => {
      await service.endWithin(manager, 'user-1', 'password_change', { exceptSessionId: 'current' });

      expect(repository.revoke).toHaveBeenCalledWith('user-1', 'password_change', { exceptSessionId: 'current' }, manager);
    });

    it('records nothing when no session was open', async () => {
      repository.revoke.mockResolvedValue([]);

      await expect(service.endWithin(manager, 'user-1', 'deactivated')).resolves.toEqual([]);

      expect(recordedEvents(events)).toEqual([]);
    });
  });

  describe('refuseAccessTokens', () => {
    it('marks the sessions revoked', async () => {
      await service.refuseAccessTokens(['s1', 's2']);

      expect(revocations.markRevoked).toHaveBeenCalledWith(['s1', 's2']);
    });
  });

  describe('listAll', () => {
    it('returns every session of the user, ended ones too', async () => {
      const sessions = [Object.assign(new SessionEntity(), { id: 's1' })];
      repository.listAll.mockResolvedValue(sessions);

      await expect(service.listAll('user-1')).resolves.toBe(sessions);
      expect(repository.listAll).toHaveBeenCalledWith('user-1');
    });
  });

  describe('pruneEnded', () => {
    it('deletes in batches until none is left, keeping ended sessions 30 days', async () => {
      repository.deleteEndedBefore.mockResolvedValueOnce(1000).mockResolvedValueOnce(250).mockResolvedValueOnce(0);

      await expect(service.pruneEnded()).resolves.toBe(1250);

      expect(repository.deleteEndedBefore).toHaveBeenCalledTimes(3);
      expect(repository.deleteEndedBefore).toHaveBeenCalledWith(30 * 86_400, config.session.idleTtlSeconds);
    });

    it('prunes hourly from module init until shutdown, surviving a failed prune', async () => {
      jest.useFakeTimers();
      try {
        service.onModuleInit();
        expect(jest.getTimerCount()).toBe(1);
        await jest.advanceTimersByTimeAsync(3_600_000);
        expect(repository.deleteEndedBefore).toHaveBeenCalledTimes(1);

        repository.deleteEndedBefore.mockRejectedValue(new Error('database is down'));
        await jest.advanceTimersByTimeAsync(3_600_000);
        expect(repository.deleteEndedBefore).toHaveBeenCalledTimes(2);

        service.onApplicationShutdown();
        expect(jest.getTimerCount()).toBe(0);
      } finally {
        jest.useRealTimers();
      }
    });
  });
});
