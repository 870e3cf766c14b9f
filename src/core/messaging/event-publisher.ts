import { randomUUID } from 'node:crypto';

import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';

import { RequestContext } from '../logging/request-context.js';
import type { DomainEvent, EventEnvelope } from './domain-event.js';

export const OUTBOX_CHANNEL = 'user_service_outbox';

/**
 * The one way to publish a domain event: it is written to the outbox in the
 * caller's transaction, so it exists exactly when the change it announces
 * does. The relay sends it to the broker after the commit.
 */
@Injectable()
export class EventPublisher {
  constructor(private readonly context: RequestContext) {}

  async record(manager: EntityManager, ...events: DomainEvent[]): Promise<void> {
    if (events.length === 0) return;
    const correlationId = this.context.correlationId() ?? null;
    const occurredAt = new Date().toISOString();
    const rows = events.map((event) => {
      const envelope: EventEnvelope = { eventId: randomUUID(), occurredAt, correlationId };
      return [envelope.eventId, event.name, event.userId, JSON.stringify({ ...envelope, ...event.data }), correlationId];
    });
    // One round trip for both. The NOTIFY is delivered at commit (and dropped on rollback): it wakes the relay at once.
    await manager.query(
      `WITH inserted AS (
         INSERT INTO outbox_events (event_id, name, aggregate_id, payload, correlation_id)
         SELECT * FROM unnest($1::uuid[], $2::varchar[], $3::uuid[], $4::jsonb[], $5::varchar[])
       )
       SELECT pg_notify('${OUTBOX_CHANNEL}', '')`,
      [0, 1, 2, 3, 4].map((column) => rows.map((row) => row[column])),
    );
  }
}
