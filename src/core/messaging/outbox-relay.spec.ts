import type pg from 'pg';

import type { AppConfig } from '../config/config.js';
import type { BrokerConnection } from './broker-connection.js';
import { OutboxRelay, type OutboxRow as Row } from './outbox-relay.js';

const row = (id: number, aggregate: string | null): Row => ({
  id: String(id),
  event_id: `event-${id}`,
  name: 'user.updated',
  aggregate_id: aggregate,
  payload: { n: id },
  correlation_id: null,
});

/** A broker whose confirms come when the test says so, and which refuses the events it is told to. */
class FakeBroker {
  readonly published: string[] = [];
  readonly pending = new Map<string, { resolve: () => void; reject: (error: Error) => void }>();
  refuse = new Set<string>();

  publish(_exchange: string, _routingKey: string, _message: object, options: { messageId: string }): Promise<void> {
    this.published.push(options.messageId);
    return new Promise((resolve, reject) => this.pending.set(options.messageId, { resolve, reject }));
  }

  /** Settles every publish in flight (confirm, or nack for the refused ones), then lets the relay go on. */
  async settleAll(): Promise<void> {
    for (const [id, { resolve, reject }] of [...this.pending]) {
      this.pending.delete(id);
      if (this.refuse.has(id)) reject(new Error('message nacked'));
      else resolve();
    }
    await new Promise((resolve) => setImmediate(resolve));
  }
}

describe('OutboxRelay.publishBatch', () => {
  const config = { messaging: { outboxLeaseSeconds: 30, eventsExchange: 'user.events' } } as AppConfig;
  let broker: FakeBroker;
  let updates: { sql: string; params: unknown[] }[];
  let publishBatch: (client: pg.Client) => Promise<{ sent: number; failed: boolean }>;

  const clientWith = (rows: Row[]) =>
    ({
      query: jest.fn(async (sql: string, params: unknown[] = []) => {
        if (sql.includes('SELECT id, event_id')) return { rows };
        updates.push({ sql, params });
        return { rows: [] };
      }),
    }) as unknown as pg.Client;

  beforeEach(() => {
    broker = new FakeBroker();
    updates = [];
    const relay = new OutboxRelay(broker as unknown as BrokerConnection, config);
    publishBatch = (relay as unknown as { publishBatch: typeof publishBatch }).publishBatch.bind(relay);
  });

  it('has the first event of every aggregate in flight at once, and each next one only after the previous one is confirmed', async () => {
    const batch = publishBatch(clientWith([row(1, 'a'), row(2, 'b'), row(3, 'a'), row(4, null), row(5, 'b'), row(6, 'a')]));
    await new Promise((resolve) => setImmediate(resolve));
    expect(broker.published).toEqual(['event-1', 'event-2', 'event-4']);
    await broker.settleAll();
    expect(broker.published).toEqual(['event-1', 'event-2', 'event-4', 'event-3', 'event-5']);
    await broker.settleAll();
    await broker.settleAll();
    await expect(batch).resolves.toEqual({ sent: 6, failed: false });
    expect(broker.published).toEqual(['event-1', 'event-2', 'event-4', 'event-3', 'event-5', 'event-6']);
    const marked = updates.find((update) => update.sql.includes('published_at = now()'));
    expect(marked?.params[0]).toEqual(['1', '2', '3', '4', '5', '6']);
  });

  it('after a refused event, holds back the later events of its aggregate only, and keeps the reason on the refused row', async () => {
    broker.refuse.add('event-1');
    const batch = publishBatch(clientWith([row(1, 'a'), row(2, 'b'), row(3, 'a'), row(4, 'b')]));
    for (let i = 0; i < 3; i += 1) await broker.settleAll();
    await expect(batch).resolves.toEqual({ sent: 2, failed: true });
    // event-3 was never published: it cannot overtake event-1, which goes again in the next batch.
    expect(broker.published).toEqual(['event-1', 'event-2', 'event-4']);
    const marked = updates.find((update) => update.sql.includes('published_at = now()'));
    expect(marked?.params[0]).toEqual(['2', '4']);
    const failure = updates.find((update) => update.sql.includes('last_error = $2'));
    expect(failure?.params).toEqual(['1', 'message nacked']);
  });
});
