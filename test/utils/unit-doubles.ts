import type { EntityManager } from 'typeorm';

import type { DomainEvent } from '../../src/core/messaging/domain-event.js';
import type { EventPublisher } from '../../src/core/messaging/event-publisher.js';

/** An EntityManager stand-in that only has an identity: specs check it is passed along, never use it. */
export function fakeManager(name = 'fake-manager'): EntityManager {
  return { name } as unknown as EntityManager;
}

/**
 * A repository's transaction(): runs the work with `manager` and tells, at any
 * moment, whether a transaction is open and how many committed. A work that
 * throws is a rollback.
 */
export function fakeTransactions(manager: EntityManager = fakeManager()) {
  const state = { open: false, commits: 0, rollbacks: 0 };
  const transaction = jest.fn(async <T>(work: (m: EntityManager) => Promise<T>): Promise<T> => {
    state.open = true;
    try {
      const result = await work(manager);
      state.commits += 1;
      return result;
    } catch (error) {
      state.rollbacks += 1;
      throw error;
    } finally {
      state.open = false;
    }
  });
  return { manager, transaction, state };
}

export type FakeEventPublisher = { record: jest.Mock<Promise<void>, [EntityManager, ...DomainEvent[]]> };

/** An EventPublisher whose record() only remembers what it was given. */
export function fakeEventPublisher(): FakeEventPublisher & EventPublisher {
  return { record: jest.fn().mockResolvedValue(undefined) } as unknown as FakeEventPublisher & EventPublisher;
}

/** Every event recorded so far, flattened in call order, with the manager each was recorded in. */
export function recordedEvents(events: FakeEventPublisher): { manager: EntityManager; event: DomainEvent }[] {
  return events.record.mock.calls.flatMap(([manager, ...recorded]) => recorded.map((event) => ({ manager, event })));
}
