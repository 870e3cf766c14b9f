import { randomUUID } from 'node:crypto';

import type { DataSource, EntityManager } from 'typeorm';

import { RequestContext } from '../../core/logging/request-context.js';
import { AuditService, CLI_ACTOR, SYSTEM_ACTOR } from './audit.service.js';

type InsertParams = [string, string | null, string, string, string | null, string | null, string | null, string | null, unknown, unknown];

describe('AuditService', () => {
  let context: RequestContext;
  let manager: { query: jest.Mock };
  let dataSource: { query: jest.Mock };
  let audit: AuditService;

  beforeEach(() => {
    context = new RequestContext();
    manager = { query: jest.fn().mockResolvedValue([]) };
    dataSource = { query: jest.fn().mockResolvedValue([]) };
    audit = new AuditService(dataSource as unknown as DataSource, context);
  });

  const insertParams = () => manager.query.mock.calls[0]![1] as InsertParams;

  describe('record', () => {
    it("writes the entry in the caller's manager, with the admin, their client and the request's correlation id", async () => {
      const actor = { type: 'user' as const, id: randomUUID(), ip: '203.0.113.9', userAgent: 'admin-console/1' };
      const targetId = randomUUID();

      await context.run('corr-42', () =>
        audit.record(manager as unknown as EntityManager, {
          actor,
          action: 'user.status_changed',
          targetId,
          reason: 'Chargeback fraud',
          before: { status: 'active' },
          after: { status: 'blocked' },
        }),
      );

      expect(dataSource.query).not.toHaveBeenCalled();
      const [sql] = manager.query.mock.calls[0] as [string];
      expect(sql).toMatch(/^INSERT INTO audit_entries \(actor_type, actor_id, action, target_id, reason, ip, user_agent, correlation_id, changes_before, changes_after\)/);
      expect(insertParams()).toEqual([
        'user',
        actor.id,
        'user.status_changed',
        targetId,
        'Chargeback fraud',
        '203.0.113.9',
        'admin-console/1',
        'corr-42',
        { status: 'active' },
        { status: 'blocked' },
      ]);
    });

    it.each([
      ['cli', CLI_ACTOR],
      ['system', SYSTEM_ACTOR],
    ] as const)('records a %s actor with no user, address or user agent, and nulls for what is not given', async (type, actor) => {
      const targetId = randomUUID();

      await audit.record(manager as unknown as EntityManager, { actor, action: 'user.suspension_lifted', targetId });

      expect(insertParams()).toEqual([type, null, 'user.suspension_lifted', targetId, null, null, null, null, null, null]);
    });
  });

  describe('list', () => {
    const row = (id: string) => ({
      id,
      actor_type: 'user',
      actor_id: 'a1',
      action: 'user.created',
      target_id: 't1',
      reason: null,
      ip: '203.0.113.9',
      user_agent: 'ua',
      correlation_id: 'c1',
      changes_before: null,
      changes_after: { role: 'user' },
      created_at: new Date('2026-11-22T09:00:00.123Z'),
      keyset: ['2026-11-22T09:00:00.123456Z', id],
    });

    it('answers one page and the keyset of its last row when one more row came back', async () => {
      dataSource.query.mockResolvedValue([row('e1'), row('e2'), row('e3')]);

      const { entries, next } = await audit.list({ targetId: 't1' }, undefined, 2);

      const [sql, values] = dataSource.query.mock.calls[0] as [string, unknown[]];
      expect(sql).toContain('FROM audit_entries');
      expect(values).toEqual(['t1', 3]);
      expect(entries.map((entry) => entry.id)).toEqual(['e1', 'e2']);
      expect(entries[0]).toEqual({
        id: 'e1',
        actorType: 'user',
        actorId: 'a1',
        action: 'user.created',
        targetId: 't1',
        reason: null,
        ip: '203.0.113.9',
        userAgent: 'ua',
        correlationId: 'c1',
        before: null,
        after: { role: 'user' },
        createdAt: '2026-11-22T09:00:00.123Z',
      });
      expect(next).toEqual(['2026-11-22T09:00:00.123456Z', 'e2']);
    });

    it('answers no next keyset on the last page', async () => {
      dataSource.query.mockResolvedValue([row('e1'), row('e2')]);

      await expect(audit.list({}, undefined, 2)).resolves.toMatchObject({ next: undefined });
    });
  });

  it('listAbout answers the entries about a user, oldest first', async () => {
    dataSource.query.mockResolvedValue([]);

    await audit.listAbout('u1');

    expect(dataSource.query).toHaveBeenCalledWith(expect.stringMatching(/WHERE target_id = \$1 ORDER BY created_at, id$/), ['u1']);
  });
});
