import { randomUUID } from 'node:crypto';

import { PasswordHasher } from '../../core/auth/password-hasher.js';
import { generateRsaKeyPair, SigningKeys } from '../../core/auth/signing-keys.js';
import { loadConfig } from '../../core/config/config.js';
import { Cursors } from '../../core/http/cursors.js';
import { IdempotencyService } from '../../core/idempotency/idempotency.service.js';
import { type AuditActor, type AuditEntry, type AuditRecord, type AuditService, CLI_ACTOR } from '../audit/audit.service.js';
import type { AccountRecoveryService } from '../auth/account-recovery.service.js';
import { SessionEntity } from '../sessions/session.entity.js';
import type { SessionsService } from '../sessions/sessions.service.js';
import type { UserEntity } from '../users/user.entity.js';
import type { UsersService } from '../users/users.service.js';
import { AdminService } from './admin.service.js';
import type { AdminUserQuery, AuditLogQuery, ChangeStatusDto, CreateUserDto } from './dto/admin.dto.js';
import { buildUserEntity } from '../../../test/factories/user-entity.factory.js';
import { rejectionOf } from '../../../test/utils/errors.js';
import { fakeTransactions } from '../../../test/utils/unit-doubles.js';

const MAX_SUSPENSION_DAYS = 30;
const DAY = 86_400_000;
const config = loadConfig({ NODE_ENV: 'test', BCRYPT_COST: '4', MAX_SUSPENSION_DAYS: String(MAX_SUSPENSION_DAYS) });

const adminActor = (id: string = randomUUID()): AuditActor & { type: 'user' } => ({
  type: 'user',
  id,
  ip: '203.0.113.9',
  userAgent: 'admin-console/1',
});
const inDays = (days: number) => new Date(Date.now() + days * DAY).toISOString();

let hasher: PasswordHasher;

beforeAll(async () => {
  hasher = new PasswordHasher(config);
  await hasher.onModuleInit();
});

describe('AdminService', () => {
  let tx: ReturnType<typeof fakeTransactions>;
  /** What happened, in order, and whether a transaction was open at the time. */
  let log: string[];
  let target: UserEntity;
  let users: {
    transaction: jest.Mock;
    countOtherActiveAdminsWithin: jest.Mock;
    lockWithin: jest.Mock;
    setStatusWithin: jest.Mock;
    setRoleWithin: jest.Mock;
    create: jest.Mock;
    forget: jest.Mock;
    findById: jest.Mock;
    findByEmail: jest.Mock;
    searchForAdmin: jest.Mock;
    stats: jest.Mock;
  };
  let sessions: { endWithin: jest.Mock; refuseAccessTokens: jest.Mock; listActiveOf: jest.Mock };
  let audit: { record: jest.Mock<Promise<void>, [unknown, AuditEntry]>; list: jest.Mock };
  let recovery: { requestVerification: jest.Mock };
  let idempotency: { claim: jest.Mock; complete: jest.Mock; once: IdempotencyService['once'] };
  let cursors: { encode: jest.Mock; decode: jest.Mock };
  let service: AdminService;

  beforeEach(() => {
    tx = fakeTransactions();
    log = [];
    const step = (name: string) => log.push(`${name}${tx.state.open ? ' (in transaction)' : ''}`);
    target = buildUserEntity();
    users = {
      transaction: tx.transaction,
      countOtherActiveAdminsWithin: jest.fn(async () => (step('countOtherActiveAdminsWithin'), 1)),
      lockWithin: jest.fn(async () => (step('lockWithin'), target)),
      setStatusWithin: jest.fn(async (_m, id: string, status, reason, until) => {
        step('setStatusWithin');
        return { ...target, id, status, statusReason: reason, statusUntil: until, updatedAt: new Date('2026-06-01T00:00:00Z') };
      }),
      setRoleWithin: jest.fn(async (_m, id: string, role) => (step('setRoleWithin'), { ...target, id, role })),
      create: jest.fn(async (_m, user: { email: string; name: string; role: UserEntity['role']; emailVerified: boolean }) => {
        step('create');
        return buildUserEntity({ email: user.email, name: user.name, role: user.role, emailVerified: user.emailVerified, mobile: null });
      }),
      forget: jest.fn(async () => void step('forget')),
      findById: jest.fn().mockResolvedValue(null),
      findByEmail: jest.fn().mockResolvedValue(null),
      searchForAdmin: jest.fn(),
      stats: jest.fn(),
    };
    sessions = {
      endWithin: jest.fn(async () => (step('endWithin'), ['s1', 's2'])),
      refuseAccessTokens: jest.fn(async () => void step('refuseAccessTokens')),
      listActiveOf: jest.fn().mockResolvedValue([]),
    };
    audit = {
      record: jest.fn(async (_manager: unknown, _entry: AuditEntry) => void step('audit')),
      list: jest.fn(),
    };
    recovery = { requestVerification: jest.fn(async () => void step('requestVerification')) };
    idempotency = {
      claim: jest.fn(async () => (step('claim'), undefined)),
      complete: jest.fn(async () => void step('complete')),
      // The real once() over the mocked claim() and complete().
      once: IdempotencyService.prototype.once,
    };
    cursors = { encode: jest.fn(), decode: jest.fn() };
    service = new AdminService(
      users as unknown as UsersService,
      sessions as unknown as SessionsService,
      audit as unknown as AuditService,
      recovery as unknown as AccountRecoveryService,
      hasher,
      idempotency as unknown as IdempotencyService,
      cursors as unknown as Cursors,
      config,
    );
  });

  /** Nothing was written, no session ended, no access token refused. */
  function expectNothingChanged(): void {
    expect(users.setStatusWithin).not.toHaveBeenCalled();
    expect(users.setRoleWithin).not.toHaveBeenCalled();
    expect(sessions.endWithin).not.toHaveBeenCalled();
    expect(audit.record).not.toHaveBeenCalled();
    expect(sessions.refuseAccessTokens.mock.calls.flat(2)).toEqual([]);
  }

  describe('setStatus', () => {
    const block: ChangeStatusDto = { status: 'blocked', reason: 'Chargeback fraud, ticket #4821' };

    describe('self-protection', () => {
      it.each([
        ['block', { status: 'blocked', reason: 'testing' }],
        ['suspend', { status: 'suspended', reason: 'testing', until: inDays(1) }],
      ] as const)('refuses to %s your own account with 409 SELF_CHANGE_FORBIDDEN, opening no transaction', async (_label, dto) => {
        const actor = adminActor(target.id);

        const error = await rejectionOf(service.setStatus(actor, target.id, { ...dto }));

        expect(error).toMatchObject({ code: 'SELF_CHANGE_FORBIDDEN', status: 409 });
        expect(tx.transaction).not.toHaveBeenCalled();
        expect(users.lockWithin).not.toHaveBeenCalled();
        expectNothingChanged();
      });

      it('lets an admin set their own (active) account active, which changes nothing', async () => {
        target = buildUserEntity({ role: 'admin' });

        await expect(service.setStatus(adminActor(target.id), target.id, { status: 'active', reason: 'fine' })).resolves.toMatchObject({
          id: target.id,
          status: 'active',
        });
        expectNothingChanged();
      });

      it('does not apply to the CLI, which is no account', async () => {
        await service.setStatus(CLI_ACTOR, target.id, block);

        expect(users.setStatusWithin).toHaveBeenCalledWith(tx.manager, target.id, 'blocked', block.reason, null);
      });
    });

    describe('the last admin', () => {
      it.each([
        ['block', block],
        ['suspend', { status: 'suspended', reason: 'testing', until: inDays(1) }],
      ] as const)('refuses to %s the only active admin with 409 LAST_ADMIN, changing nothing', async (_label, dto) => {
        target = buildUserEntity({ role: 'admin' });
        users.countOtherActiveAdminsWithin.mockResolvedValue(0);

        const error = await rejectionOf(service.setStatus(adminActor(), target.id, { ...dto }));

        expect(error).toMatchObject({ code: 'LAST_ADMIN', status: 409 });
        expect(users.countOtherActiveAdminsWithin).toHaveBeenCalledWith(tx.manager, target.id);
        expect(tx.state).toMatchObject({ commits: 0, rollbacks: 1 });
        expectNothingChanged();
        expect(users.forget).not.toHaveBeenCalled();
      });

      it('blocks an active admin while another active admin remains', async () => {
        target = buildUserEntity({ role: 'admin' });
        users.countOtherActiveAdminsWithin.mockResolvedValue(1);

        await expect(service.setStatus(adminActor(), target.id, block)).resolves.toMatchObject({ status: 'blocked' });
      });

      it('does not count a user that is no active admin (a blocked admin may be suspended with no other admin left)', async () => {
        target = buildUserEntity({ role: 'admin', status: 'blocked', statusReason: 'x' });
        users.countOtherActiveAdminsWithin.mockResolvedValue(0);

        await expect(
          service.setStatus(adminActor(), target.id, { status: 'suspended', reason: 'y', until: inDays(2) }),
        ).resolves.toMatchObject({ status: 'suspended' });
      });

      it('takes the admin-set lock before the target row, in the transaction', async () => {
        await service.setStatus(adminActor(), target.id, block);

        expect(log.slice(0, 2)).toEqual(['countOtherActiveAdminsWithin (in transaction)', 'lockWithin (in transaction)']);
      });
    });

    it('answers 404 USER_NOT_FOUND for an unknown user', async () => {
      users.lockWithin.mockResolvedValue(null);

      const error = await rejectionOf(service.setStatus(adminActor(), randomUUID(), block));

      expect(error).toMatchObject({ code: 'USER_NOT_FOUND', status: 404 });
      expectNothingChanged();
    });

    it.each(['active', 'blocked'] as const)(
      'refuses to change a deactivated account (to %s) with 409 USER_DEACTIVATED',
      async (status) => {
        target = buildUserEntity({ status: 'deactivated', statusReason: 'deactivated by the user' });

        const error = await rejectionOf(service.setStatus(adminActor(), target.id, { status, reason: 'x' }));

        expect(error).toMatchObject({ code: 'USER_DEACTIVATED', status: 409 });
        expect(tx.state.rollbacks).toBe(1);
        expectNothingChanged();
      },
    );

    describe('until', () => {
      const expectUntilError = async (dto: ChangeStatusDto, message: RegExp) => {
        const error = await rejectionOf(service.setStatus(adminActor(), target.id, dto));

        expect(error).toMatchObject({ code: 'VALIDATION_FAILED', status: 400 });
        expect(error.errors).toEqual([{ field: 'until', message: expect.stringMatching(message) }]);
        expect(tx.transaction).not.toHaveBeenCalled();
        expectNothingChanged();
      };

      it('is required with suspended', () => expectUntilError({ status: 'suspended', reason: 'x' }, /required/));

      it('must be in the future', async () => {
        await expectUntilError({ status: 'suspended', reason: 'x', until: new Date(Date.now() - 1000).toISOString() }, /future/);
        await expectUntilError({ status: 'suspended', reason: 'x', until: '2020-01-01T00:00:00Z' }, /future/);
      });

      it(`must be at most MAX_SUSPENSION_DAYS (${MAX_SUSPENSION_DAYS}) ahead`, () =>
        expectUntilError(
          { status: 'suspended', reason: 'x', until: new Date(Date.now() + MAX_SUSPENSION_DAYS * DAY + 60_000).toISOString() },
          new RegExp(`at most ${MAX_SUSPENSION_DAYS} days`),
        ));

      it.each(['active', 'blocked'] as const)('is refused with %s', (status) =>
        expectUntilError({ status, reason: 'x', until: inDays(1) }, /only allowed with status suspended/),
      );

      it('accepts a suspension just within MAX_SUSPENSION_DAYS and stores it as given', async () => {
        const until = new Date(Date.now() + MAX_SUSPENSION_DAYS * DAY - 60_000);
        until.setMilliseconds(0);

        const response = await service.setStatus(adminActor(), target.id, { status: 'suspended', reason: 'x', until: until.toISOString() });

        expect(users.setStatusWithin).toHaveBeenCalledWith(tx.manager, target.id, 'suspended', 'x', until);
        expect(response).toMatchObject({ status: 'suspended', statusReason: 'x', statusUntil: until.toISOString() });
      });
    });

    describe('no-op changes', () => {
      it.each([
        ['the same block', { status: 'blocked', statusReason: 'spam', statusUntil: null }, { status: 'blocked', reason: 'spam' }],
        ['active again, whatever the reason', { status: 'active', statusReason: null, statusUntil: null }, { status: 'active', reason: 'ok' }],
        [
          'the same suspension',
          { status: 'suspended', statusReason: 'spam', statusUntil: new Date('2030-01-01T00:00:00Z') },
          { status: 'suspended', reason: 'spam', until: '2030-01-01T00:00:00.000Z' },
        ],
      ] as const)('%s writes no audit entry and ends no session', async (_label, current, dto) => {
        jest.useFakeTimers({ now: new Date('2029-12-15T00:00:00Z'), doNotFake: ['nextTick', 'setImmediate'] });
        try {
          target = buildUserEntity({ ...current });

          const response = await service.setStatus(adminActor(), target.id, { ...dto });

          expect(response).toMatchObject({ id: target.id, status: current.status });
          expectNothingChanged();
        } finally {
          jest.useRealTimers();
        }
      });

      it('a new reason is a change', async () => {
        target = buildUserEntity({ status: 'blocked', statusReason: 'spam' });

        await service.setStatus(adminActor(), target.id, { status: 'blocked', reason: 'fraud' });

        expect(users.setStatusWithin).toHaveBeenCalledWith(tx.manager, target.id, 'blocked', 'fraud', null);
        expect(audit.record).toHaveBeenCalledTimes(1);
      });
    });

    it.each([
      ['blocks', block],
      ['suspends', { status: 'suspended', reason: 'cool-off', until: inDays(3) }],
    ] as const)(
      '%s in one transaction with the sessions ended and the audit entry; refuses their access tokens only after commit',
      async (_label, dto) => {
        const response = await service.setStatus(adminActor(), target.id, { ...dto });

        expect(tx.transaction).toHaveBeenCalledTimes(1);
        expect(log).toEqual([
          'countOtherActiveAdminsWithin (in transaction)',
          'lockWithin (in transaction)',
          'setStatusWithin (in transaction)',
          'endWithin (in transaction)',
          'audit (in transaction)',
          'refuseAccessTokens',
          'forget',
        ]);
        expect(sessions.endWithin).toHaveBeenCalledWith(tx.manager, target.id, 'admin');
        expect(sessions.refuseAccessTokens).toHaveBeenCalledWith(['s1', 's2']);
        expect(users.forget).toHaveBeenCalledWith(target.id);
        expect(response).toMatchObject({ id: target.id, status: dto.status, statusReason: dto.reason });
      },
    );

    it('records who, why, and the status before and after', async () => {
      const actor = adminActor();
      const until = new Date(Date.now() + 3 * DAY);
      until.setMilliseconds(0);
      target = buildUserEntity({ status: 'blocked', statusReason: 'spam' });

      await service.setStatus(actor, target.id, { status: 'suspended', reason: 'cool-off', until: until.toISOString() });

      expect(audit.record.mock.calls).toEqual([
        [
          tx.manager,
          {
            actor,
            action: 'user.status_changed',
            targetId: target.id,
            reason: 'cool-off',
            before: { status: 'blocked', statusReason: 'spam', statusUntil: null },
            after: { status: 'suspended', statusReason: 'cool-off', statusUntil: until.toISOString() },
          },
        ],
      ]);
    });

    it('reactivates without ending sessions, and audits it', async () => {
      target = buildUserEntity({ status: 'blocked', statusReason: 'spam' });

      const response = await service.setStatus(adminActor(), target.id, { status: 'active', reason: 'appeal granted' });

      expect(response).toMatchObject({ status: 'active' });
      expect(users.setStatusWithin).toHaveBeenCalledWith(tx.manager, target.id, 'active', 'appeal granted', null);
      expect(sessions.endWithin).not.toHaveBeenCalled();
      expect(sessions.refuseAccessTokens.mock.calls.flat(2)).toEqual([]);
      expect(audit.record.mock.calls[0]![1]).toMatchObject({
        before: { status: 'blocked', statusReason: 'spam', statusUntil: null },
        after: { status: 'active', statusReason: 'appeal granted', statusUntil: null },
      });
    });

    it('refuses no access token and keeps the cache when the transaction fails', async () => {
      audit.record.mockRejectedValue(new Error('audit insert failed'));

      await expect(service.setStatus(adminActor(), target.id, block)).rejects.toThrow('audit insert failed');

      expect(sessions.endWithin).toHaveBeenCalled();
      expect(tx.state.rollbacks).toBe(1);
      expect(sessions.refuseAccessTokens).not.toHaveBeenCalled();
      expect(users.forget).not.toHaveBeenCalled();
    });
  });

  describe('setRole', () => {
    it('refuses to demote yourself with 409 SELF_CHANGE_FORBIDDEN, opening no transaction', async () => {
      target = buildUserEntity({ role: 'admin' });

      const error = await rejectionOf(service.setRole(adminActor(target.id), target.id, { role: 'user' }));

      expect(error).toMatchObject({ code: 'SELF_CHANGE_FORBIDDEN', status: 409 });
      expect(tx.transaction).not.toHaveBeenCalled();
      expectNothingChanged();
    });

    it('lets an admin "promote" themselves, which changes nothing', async () => {
      target = buildUserEntity({ role: 'admin' });

      await expect(service.setRole(adminActor(target.id), target.id, { role: 'admin' })).resolves.toMatchObject({ role: 'admin' });
      expectNothingChanged();
    });

    it('refuses to demote the only active admin with 409 LAST_ADMIN, changing nothing', async () => {
      target = buildUserEntity({ role: 'admin' });
      users.countOtherActiveAdminsWithin.mockResolvedValue(0);

      const error = await rejectionOf(service.setRole(CLI_ACTOR, target.id, { role: 'user' }));

      expect(error).toMatchObject({ code: 'LAST_ADMIN', status: 409 });
      expect(users.countOtherActiveAdminsWithin).toHaveBeenCalledWith(tx.manager, target.id);
      expect(tx.state.rollbacks).toBe(1);
      expectNothingChanged();
    });

    it('demotes a blocked admin even with no other active admin (it is not one of them)', async () => {
      target = buildUserEntity({ role: 'admin', status: 'blocked', statusReason: 'x' });
      users.countOtherActiveAdminsWithin.mockResolvedValue(0);

      await expect(service.setRole(adminActor(), target.id, { role: 'user' })).resolves.toMatchObject({ role: 'user' });
    });

    it('refuses to change a deactivated account with 409 USER_DEACTIVATED', async () => {
      target = buildUserEntity({ status: 'deactivated' });

      const error = await rejectionOf(service.setRole(adminActor(), target.id, { role: 'admin' }));

      expect(error).toMatchObject({ code: 'USER_DEACTIVATED', status: 409 });
      expectNothingChanged();
    });

    it('answers 404 USER_NOT_FOUND for an unknown user', async () => {
      users.lockWithin.mockResolvedValue(null);

      const error = await rejectionOf(service.setRole(adminActor(), randomUUID(), { role: 'admin' }));

      expect(error).toMatchObject({ code: 'USER_NOT_FOUND', status: 404 });
      expectNothingChanged();
    });

    it('changes nothing when the role is already the one asked for', async () => {
      await expect(service.setRole(adminActor(), target.id, { role: 'user' })).resolves.toMatchObject({ role: 'user' });

      expectNothingChanged();
    });

    it('demotes in one transaction, ending every session there, and refuses their access tokens after commit', async () => {
      const actor = adminActor();
      target = buildUserEntity({ role: 'admin' });

      const response = await service.setRole(actor, target.id, { role: 'user', reason: 'left the team' });

      expect(response).toMatchObject({ id: target.id, role: 'user' });
      expect(log).toEqual([
        'countOtherActiveAdminsWithin (in transaction)',
        'lockWithin (in transaction)',
        'setRoleWithin (in transaction)',
        'endWithin (in transaction)',
        'audit (in transaction)',
        'refuseAccessTokens',
        'forget',
      ]);
      expect(users.setRoleWithin).toHaveBeenCalledWith(tx.manager, target.id, 'user');
      expect(sessions.endWithin).toHaveBeenCalledWith(tx.manager, target.id, 'admin');
      expect(sessions.refuseAccessTokens).toHaveBeenCalledWith(['s1', 's2']);
      expect(audit.record.mock.calls).toEqual([
        [
          tx.manager,
          {
            actor,
            action: 'user.role_changed',
            targetId: target.id,
            reason: 'left the team',
            before: { role: 'admin' },
            after: { role: 'user' },
          },
        ],
      ]);
    });

    it('promotes without ending any session, recording a null reason when none was given', async () => {
      await expect(service.setRole(adminActor(), target.id, { role: 'admin' })).resolves.toMatchObject({ role: 'admin' });

      expect(sessions.endWithin).not.toHaveBeenCalled();
      expect(sessions.refuseAccessTokens.mock.calls.flat(2)).toEqual([]);
      expect(audit.record.mock.calls[0]![1]).toMatchObject({ reason: null, before: { role: 'user' }, after: { role: 'admin' } });
    });

    it('refuses no access token when the transaction fails', async () => {
      target = buildUserEntity({ role: 'admin' });
      audit.record.mockRejectedValue(new Error('audit insert failed'));

      await expect(service.setRole(adminActor(), target.id, { role: 'user' })).rejects.toThrow('audit insert failed');

      expect(tx.state.rollbacks).toBe(1);
      expect(sessions.refuseAccessTokens).not.toHaveBeenCalled();
    });

    it('setRoleByEmail finds the user by the normalized email', async () => {
      users.findByEmail.mockResolvedValue(target);

      await service.setRoleByEmail(CLI_ACTOR, '  Ada@Example.COM ', 'admin');

      expect(users.findByEmail).toHaveBeenCalledWith('ada@example.com');
      expect(users.setRoleWithin).toHaveBeenCalledWith(tx.manager, target.id, 'admin');
      expect(audit.record.mock.calls[0]![1]).toMatchObject({ actor: CLI_ACTOR, action: 'user.role_changed' });
    });

    it('setRoleByEmail answers 404 USER_NOT_FOUND for an unknown email, opening no transaction', async () => {
      const error = await rejectionOf(service.setRoleByEmail(CLI_ACTOR, 'nobody@example.com', 'admin'));

      expect(error).toMatchObject({ code: 'USER_NOT_FOUND', status: 404 });
      expect(tx.transaction).not.toHaveBeenCalled();
    });
  });

  describe('createUser', () => {
    const dto: CreateUserDto = { email: 'grace@example.com', password: 'a-long-new-password-1', name: 'Grace Hopper', role: 'user' };

    it('creates an active, unverified account, sends the verification mail and audits it, all in one transaction', async () => {
      const actor = adminActor();

      const response = await service.createUser(actor, dto);

      expect(tx.transaction).toHaveBeenCalledTimes(1);
      expect(log).toEqual(['create (in transaction)', 'requestVerification (in transaction)', 'audit (in transaction)']);
      const [manager, created] = users.create.mock.calls[0] as [unknown, { passwordHash: string }];
      expect(manager).toBe(tx.manager);
      expect(created).toEqual({
        email: dto.email,
        passwordHash: expect.any(String),
        name: dto.name,
        mobile: null,
        role: 'user',
        emailVerified: false,
      });
      await expect(hasher.verify(dto.password, created.passwordHash)).resolves.toBe(true);
      const user = (await users.create.mock.results[0]!.value) as UserEntity;
      expect(recovery.requestVerification).toHaveBeenCalledWith(tx.manager, user);
      expect(audit.record.mock.calls).toEqual([
        [
          tx.manager,
          {
            actor,
            action: 'user.created',
            targetId: user.id,
            after: { email: dto.email, name: dto.name, role: 'user', status: 'active', emailVerified: false },
          },
        ],
      ]);
      expect(response).toEqual({ status: 201, body: expect.objectContaining({ id: user.id, email: dto.email, statusReason: null }) });
      expect(JSON.stringify(audit.record.mock.calls)).not.toContain(dto.password);
      expect(idempotency.claim).not.toHaveBeenCalled();
      expect(idempotency.complete).not.toHaveBeenCalled();
    });

    it('created by the CLI, the account is verified already and gets no verification mail', async () => {
      await service.createUser(CLI_ACTOR, { ...dto, role: 'admin' });

      expect(users.create).toHaveBeenCalledWith(tx.manager, expect.objectContaining({ role: 'admin', emailVerified: true }));
      expect(recovery.requestVerification).not.toHaveBeenCalled();
      expect(audit.record.mock.calls[0]![1]).toMatchObject({ actor: CLI_ACTOR, after: { emailVerified: true, role: 'admin' } });
    });

    it('with an Idempotency-Key, claims and completes the key in the same transaction as the account', async () => {
      const actor = adminActor();

      const response = await service.createUser(actor, dto, 'create-grace-1');

      const request = { scope: `POST /admin/users ${actor.id}`, key: 'create-grace-1', body: dto };
      expect(idempotency.claim).toHaveBeenCalledWith(tx.manager, request);
      expect(idempotency.complete).toHaveBeenCalledWith(tx.manager, request, response);
      expect(tx.transaction).toHaveBeenCalledTimes(1);
      expect(log).toEqual([
        'claim (in transaction)',
        'create (in transaction)',
        'requestVerification (in transaction)',
        'audit (in transaction)',
        'complete (in transaction)',
      ]);
    });

    it('keeps the keys of different admins, and of the CLI, apart', async () => {
      const first = adminActor();
      const second = adminActor();

      await service.createUser(first, dto, 'same-key');
      await service.createUser(second, dto, 'same-key');
      await service.createUser(CLI_ACTOR, dto, 'same-key');

      expect(idempotency.claim.mock.calls.map(([, request]) => (request as { scope: string }).scope)).toEqual([
        `POST /admin/users ${first.id}`,
        `POST /admin/users ${second.id}`,
        'POST /admin/users cli',
      ]);
    });

    it('replays the stored answer of a repeated key without creating or auditing anything', async () => {
      const stored = { status: 201, body: { id: 'first' } };
      idempotency.claim.mockResolvedValue(stored);

      await expect(service.createUser(adminActor(), dto, 'create-grace-1')).resolves.toBe(stored);

      expect(users.create).not.toHaveBeenCalled();
      expect(recovery.requestVerification).not.toHaveBeenCalled();
      expect(audit.record).not.toHaveBeenCalled();
      expect(idempotency.complete).not.toHaveBeenCalled();
    });

    it('completes no key when the work fails (the claim rolls back with it)', async () => {
      recovery.requestVerification.mockRejectedValue(new Error('outbox insert failed'));

      await expect(service.createUser(adminActor(), dto, 'create-grace-1')).rejects.toThrow('outbox insert failed');

      expect(tx.state.rollbacks).toBe(1);
      expect(idempotency.complete).not.toHaveBeenCalled();
      expect(audit.record).not.toHaveBeenCalled();
    });

    it('refuses an invalid Idempotency-Key with 400 before any work', async () => {
      const hash = jest.spyOn(hasher, 'hash');
      try {
        const error = await rejectionOf(service.createUser(adminActor(), dto, 'has spaces'));

        expect(error).toMatchObject({ code: 'VALIDATION_FAILED', status: 400 });
        expect(hash).not.toHaveBeenCalled();
        expect(tx.transaction).not.toHaveBeenCalled();
      } finally {
        hash.mockRestore();
      }
    });
  });

  describe('endSessions', () => {
    it('ends every session in a transaction, audits how many, and refuses their access tokens after commit', async () => {
      const actor = adminActor();

      await service.endSessions(actor, target.id);

      expect(log).toEqual(['lockWithin (in transaction)', 'endWithin (in transaction)', 'audit (in transaction)', 'refuseAccessTokens', 'forget']);
      expect(sessions.endWithin).toHaveBeenCalledWith(tx.manager, target.id, 'admin');
      expect(audit.record.mock.calls).toEqual([
        [tx.manager, { actor, action: 'user.sessions_revoked', targetId: target.id, after: { sessionsEnded: 2 } }],
      ]);
      expect(sessions.refuseAccessTokens).toHaveBeenCalledWith(['s1', 's2']);
    });

    it('audits nothing when there was no session to end', async () => {
      sessions.endWithin.mockResolvedValue([]);

      await service.endSessions(adminActor(), target.id);

      expect(audit.record).not.toHaveBeenCalled();
    });

    it('answers 404 USER_NOT_FOUND for an unknown user', async () => {
      users.lockWithin.mockResolvedValue(null);

      const error = await rejectionOf(service.endSessions(adminActor(), randomUUID()));

      expect(error).toMatchObject({ code: 'USER_NOT_FOUND', status: 404 });
      expect(sessions.endWithin).not.toHaveBeenCalled();
      expect(sessions.refuseAccessTokens).not.toHaveBeenCalled();
    });
  });

  describe('lists', () => {
    const pair = generateRsaKeyPair();
    const realCursors = new Cursors(new SigningKeys(pair.privateKeyPem, pair.publicKeyPem));
    const withRealCursors = () =>
      new AdminService(
        users as unknown as UsersService,
        sessions as unknown as SessionsService,
        audit as unknown as AuditService,
        recovery as unknown as AccountRecoveryService,
        hasher,
        idempotency as unknown as IdempotencyService,
        realCursors,
        config,
      );
    const page = (query: Partial<AdminUserQuery>) => ({ limit: 2, ...query }) as AdminUserQuery;

    it('listUsers pages a search by its (term, id) keyset: nextCursor leads to the next page of the same search', async () => {
      const admin = withRealCursors();
      const next = ['ada@example.com', randomUUID()];
      const found = [buildUserEntity(), buildUserEntity()];
      users.searchForAdmin.mockResolvedValueOnce({ users: found, next }).mockResolvedValueOnce({ users: [], next: undefined });

      const first = await admin.listUsers(page({ q: 'ada', status: 'active' }));

      expect(users.searchForAdmin).toHaveBeenLastCalledWith({ q: 'ada', status: 'active' }, undefined, 2);
      expect(first.data.map((user) => user.id)).toEqual(found.map((user) => user.id));
      expect(first.meta).toEqual({ limit: 2, nextCursor: expect.any(String) });

      const second = await admin.listUsers(page({ q: 'ada', status: 'active', cursor: first.meta.nextCursor! }));

      expect(users.searchForAdmin).toHaveBeenLastCalledWith({ q: 'ada', status: 'active' }, next, 2);
      expect(second.meta).toEqual({ limit: 2, nextCursor: null });
    });

    it('listUsers pages an unfiltered list newest first', async () => {
      const admin = withRealCursors();
      const next = ['2026-11-22T09:00:00.123456Z', randomUUID()];
      users.searchForAdmin.mockResolvedValue({ users: [buildUserEntity()], next });

      const first = await admin.listUsers(page({}));
      await admin.listUsers(page({ cursor: first.meta.nextCursor! }));

      expect(users.searchForAdmin).toHaveBeenLastCalledWith({}, next, 2);
    });

    it.each([
      ['another status', { status: 'blocked' }],
      ['another role', { role: 'admin' }],
      ['another q', { q: 'adb' }],
      ['no q', { q: undefined }],
    ] as const)('listUsers refuses a cursor of the same list with %s (400 on cursor), searching nothing', async (_label, other) => {
      const admin = withRealCursors();
      users.searchForAdmin.mockResolvedValue({ users: [buildUserEntity()], next: ['ada@example.com', randomUUID()] });
      const { meta } = await admin.listUsers(page({ q: 'ada', status: 'active' }));
      users.searchForAdmin.mockClear();

      const error = await rejectionOf(admin.listUsers(page({ q: 'ada', status: 'active', ...other, cursor: meta.nextCursor! })));

      expect(error).toMatchObject({ code: 'VALIDATION_FAILED', status: 400 });
      expect(error.errors).toEqual([{ field: 'cursor', message: expect.any(String) }]);
      expect(users.searchForAdmin).not.toHaveBeenCalled();
    });

    it('auditLog pages newest first; its cursors are of no use to the user list, nor with other filters', async () => {
      const admin = withRealCursors();
      const targetId = randomUUID();
      const record: AuditRecord = {
        id: randomUUID(),
        actorType: 'cli',
        actorId: null,
        action: 'user.role_changed',
        targetId,
        reason: null,
        ip: null,
        userAgent: null,
        correlationId: 'corr-1',
        before: { role: 'user' },
        after: { role: 'admin' },
        createdAt: '2026-11-22T09:00:00.123Z',
      };
      const next = ['2026-11-22T09:00:00.123456Z', record.id];
      audit.list.mockResolvedValue({ entries: [record], next });

      const first = await admin.auditLog({ limit: 1, targetId } as AuditLogQuery);

      expect(audit.list).toHaveBeenLastCalledWith({ targetId }, undefined, 1);
      expect(first).toEqual({ data: [record], meta: { limit: 1, nextCursor: expect.any(String) } });
      await admin.auditLog({ limit: 1, targetId, cursor: first.meta.nextCursor! } as AuditLogQuery);
      expect(audit.list).toHaveBeenLastCalledWith({ targetId }, next, 1);

      await expect(rejectionOf(admin.auditLog({ limit: 1, cursor: first.meta.nextCursor! } as AuditLogQuery))).resolves.toMatchObject({
        status: 400,
      });
      await expect(rejectionOf(admin.listUsers(page({ cursor: first.meta.nextCursor! })))).resolves.toMatchObject({ status: 400 });
    });

    it('stats answers what UsersService counts', async () => {
      const stats = { total: 3, byStatus: {}, byRole: {}, verified: 2, registeredLast24h: 1, registeredLast7d: 3 };
      users.stats.mockResolvedValue(stats);

      await expect(service.stats()).resolves.toBe(stats);
    });
  });

  describe('reads', () => {
    it('getUser answers the admin view of a user, or 404', async () => {
      target = buildUserEntity({ status: 'suspended', statusReason: 'spam', statusUntil: new Date('2030-01-01T00:00:00Z') });
      users.findById.mockResolvedValueOnce(target);

      await expect(service.getUser(target.id)).resolves.toMatchObject({
        id: target.id,
        status: 'suspended',
        statusReason: 'spam',
        statusUntil: '2030-01-01T00:00:00.000Z',
      });
      await expect(rejectionOf(service.getUser(randomUUID()))).resolves.toMatchObject({ code: 'USER_NOT_FOUND', status: 404 });
    });

    it('listSessions lists the active sessions of an existing user, or answers 404 without listing', async () => {
      const session = Object.assign(new SessionEntity(), {
        id: 's1',
        userId: target.id,
        createdAt: new Date('2026-01-01T00:00:00Z'),
        lastUsedAt: new Date('2026-01-02T00:00:00Z'),
        expiresAt: new Date('2026-04-01T00:00:00Z'),
        revokedAt: null,
        revokedReason: null,
        ip: '203.0.113.7',
        userAgent: 'curl/8',
      });
      users.findById.mockResolvedValueOnce(target);
      sessions.listActiveOf.mockResolvedValue([session]);

      await expect(service.listSessions(target.id)).resolves.toEqual([
        {
          id: 's1',
          createdAt: '2026-01-01T00:00:00.000Z',
          lastUsedAt: '2026-01-02T00:00:00.000Z',
          expiresAt: '2026-04-01T00:00:00.000Z',
          ip: '203.0.113.7',
          userAgent: 'curl/8',
        },
      ]);
      expect(sessions.listActiveOf).toHaveBeenCalledWith(target.id);

      sessions.listActiveOf.mockClear();
      await expect(rejectionOf(service.listSessions(randomUUID()))).resolves.toMatchObject({ code: 'USER_NOT_FOUND' });
      expect(sessions.listActiveOf).not.toHaveBeenCalled();
    });
  });
});
