import type { EntityManager } from 'typeorm';

import { RequestContext } from '../logging/request-context.js';
import type { DomainEvent } from './domain-event.js';
import { EventPublisher, OUTBOX_CHANNEL } from './event-publisher.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

const created: DomainEvent = { name: 'user.created', userId: 'a1b2c3d4-0000-4000-8000-000000000001', data: { user: { id: 'u' } } };
const revoked: DomainEvent = {
  name: 'session.revoked',
  userId: 'a1b2c3d4-0000-4000-8000-000000000001',
  data: { sessionId: 's1', reason: 'logout' },
};

type Columns = [string[], string[], (string | null)[], string[], (string | null)[]];

describe('EventPublisher.record', () => {
  let context: RequestContext;
  let manager: { query: jest.Mock };
  let publisher: EventPublisher;

  beforeEach(() => {
    context = new RequestContext();
    manager = { query: jest.fn().mockResolvedValue([]) };
    publisher = new EventPublisher(context);
  });

  const insertColumns = () => manager.query.mock.calls[0]![1] as Columns;
  const payloads = () => insertColumns()[3].map((json) => JSON.parse(json) as Record<string, unknown>);

  it('writes every event with one INSERT of unnest arrays and a pg_notify, in one statement of the given manager', async () => {
    await publisher.record(manager as unknown as EntityManager, created, revoked);

    expect(manager.query).toHaveBeenCalledTimes(1);
    const [sql, params] = manager.query.mock.calls[0] as [string, unknown[]];
    expect(sql).toMatch(/INSERT INTO outbox_events \(event_id, name, aggregate_id, payload, correlation_id\)/);
    expect(sql).toMatch(new RegExp(`\\)\\s*SELECT pg_notify\\('${OUTBOX_CHANNEL}', ''\\)$`));
    expect(sql).toContain('unnest($1::uuid[], $2::varchar[], $3::uuid[], $4::jsonb[], $5::varchar[])');
    expect(params).toHaveLength(5);
    for (const column of params) expect(column).toHaveLength(2);
    const [eventIds, names, aggregateIds] = insertColumns();
    expect(names).toEqual(['user.created', 'session.revoked']);
    expect(aggregateIds).toEqual([created.userId, revoked.userId]);
    for (const id of eventIds) expect(id).toMatch(UUID);
    expect(new Set(eventIds).size).toBe(2);

  });

  it('wraps each event in the envelope: its eventId, one occurredAt, then its data', async () => {
    const before = Date.now();

    await publisher.record(manager as unknown as EntityManager, created, revoked);

    const [eventIds] = insertColumns();
    const [first, second] = payloads();
    expect(first).toEqual({ eventId: eventIds[0], occurredAt: expect.any(String), correlationId: null, user: { id: 'u' } });
    expect(second).toEqual({ eventId: eventIds[1], occurredAt: first!.occurredAt, correlationId: null, sessionId: 's1', reason: 'logout' });
    const occurredAt = first!.occurredAt as string;
    expect(new Date(occurredAt).toISOString()).toBe(occurredAt);
    expect(Date.parse(occurredAt)).toBeGreaterThanOrEqual(before);
    expect(Date.parse(occurredAt)).toBeLessThanOrEqual(Date.now());
  });

  it("takes the correlation id from the request's context", async () => {
    await context.run('req-42', () => publisher.record(manager as unknown as EntityManager, created, revoked));

    expect(payloads().map((payload) => payload.correlationId)).toEqual(['req-42', 'req-42']);
    expect(insertColumns()[4]).toEqual(['req-42', 'req-42']);
  });

  it('records a null correlation id outside any request (e.g. a timer or a consumer)', async () => {
    expect(context.correlationId()).toBeUndefined();

    await publisher.record(manager as unknown as EntityManager, created);

    expect(payloads()[0]!.correlationId).toBeNull();
    expect(insertColumns()[4]).toEqual([null]);
  });

  it('keeps a null aggregate id for events about no user', async () => {
    await publisher.record(manager as unknown as EntityManager, { name: 'system.tick', userId: null, data: {} });

    expect(insertColumns()[2]).toEqual([null]);
  });

  it('does nothing for zero events', async () => {
    await publisher.record(manager as unknown as EntityManager);

    expect(manager.query).not.toHaveBeenCalled();
  });

  it('does not notify when the insert fails', async () => {
    manager.query.mockRejectedValueOnce(new Error('relation "outbox_events" does not exist'));

    await expect(publisher.record(manager as unknown as EntityManager, created)).rejects.toThrow('outbox_events');

    expect(manager.query).toHaveBeenCalledTimes(1);
  });
});
