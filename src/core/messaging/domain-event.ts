/** What every event's data carries, whatever its type (the contract's envelope). */
export interface EventEnvelope {
  eventId: string;
  occurredAt: string;
  correlationId: string | null;
}

/** An event a module publishes: its name (also the routing key) and its data beyond the envelope. */
export interface DomainEvent<Name extends string = string, Data extends object = object> {
  name: Name;
  /** The user the event is about; events of one user are published in commit order. */
  userId: string | null;
  data: Data;
}

/** Data fields that are secrets for the recipient only (mailed tokens): removed from the outbox once published. */
export const SECRET_EVENT_FIELDS = ['token'] as const;
