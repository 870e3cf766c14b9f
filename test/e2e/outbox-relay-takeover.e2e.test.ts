import { randomBytes } from 'node:crypto';

import { OutboxRelay } from '../../src/core/messaging/outbox-relay.js';
import { registerUser } from '../factories/user.factory.js';
import { EventCollector } from '../utils/event-collector.js';
import { waitFor } from '../utils/outbox.js';
import { TcpProxy } from '../utils/tcp-proxy.js';
import { bootTestApp, createTestDatabase, deleteBrokerObjects, describeWithRabbitMq, query, rabbitmqUrl, type TestApp } from '../utils/test-app.js';

const LEASE_SECONDS = 3;
/** Server-side expiry (one lease after the leader's last query) plus the follower's next try, with room for a loaded machine. */
const TAKEOVER_BOUND_MS = LEASE_SECONDS * 1_000 + 7_000;

const isLeader = (replica: TestApp) => replica.app.get(OutboxRelay).leader;

/** Relay sessions connected to the database (a connection whose startup the proxy swallowed has no database yet). */
async function relaySessions(databaseUrl: string): Promise<number> {
  const rows = await query<{ n: number }>(
    databaseUrl,
    "SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'user-service-outbox-relay'",
  );
  return rows[0].n;
}

describeWithRabbitMq('Outbox relay takeover after a network partition (e2e)', () => {
  it('when the leader’s database path is cut without closing it, another replica relays within the lease and the old leader steps down', async () => {
    const database = await createTestDatabase();
    const env = {
      RABBITMQ_URL: rabbitmqUrl(),
      EVENTS_EXCHANGE: `user.events.test.${randomBytes(4).toString('hex')}`,
      SERVICE_QUEUE: `user-service.test.${randomBytes(4).toString('hex')}`,
      OUTBOX_LEASE_SECONDS: String(LEASE_SECONDS),
    };
    const proxy = await TcpProxy.forUrl(database.url).start();
    const collector = await EventCollector.start(rabbitmqUrl()!, env.EVENTS_EXCHANGE);
    let leader: TestApp | undefined;
    let survivor: TestApp | undefined;
    try {
      // Booted alone, so it takes the lock; everything it says to PostgreSQL goes through the proxy.
      leader = await bootTestApp({ databaseUrl: proxy.url(database.url), env });
      await waitFor(async () => isLeader(leader!));
      survivor = await bootTestApp({ databaseUrl: database.url, env });
      await waitFor(async () => (await relaySessions(database.url)) === 2);
      expect(isLeader(survivor)).toBe(false);
      const before = await registerUser(survivor.http);
      await collector.waitFor(() => collector.about(before.id).length === 2);

      proxy.blackhole();
      const late = await registerUser(survivor.http);

      // Nothing closed the leader's socket: only the lease can free the lock.
      await waitFor(async () => isLeader(survivor!), TAKEOVER_BOUND_MS);
      await collector.waitFor(() => collector.about(late.id).length === 2, 10_000);
      expect(collector.about(late.id).map((e) => e.pattern)).toEqual(['user.created', 'user.email_verification_requested']);
      // The old leader noticed on its own (its queries went unanswered) and stepped down.
      await waitFor(async () => !isLeader(leader!), TAKEOVER_BOUND_MS);

      // Back on the network, it rejoins as a follower: the lock stays where it is.
      proxy.restore();
      await waitFor(async () => (await relaySessions(database.url)) === 2, 20_000);
      expect(isLeader(leader)).toBe(false);
      expect(isLeader(survivor)).toBe(true);
      const ids = collector.events.map((e) => e.data.eventId);
      expect(new Set(ids).size).toBe(ids.length);
    } finally {
      await collector.stop();
      // Destroys the leader's sockets first, so queries stuck behind the cut fail instead of holding up its shutdown.
      await proxy.stop();
      await leader?.close();
      await survivor?.close();
      await deleteBrokerObjects(env.EVENTS_EXCHANGE, env.SERVICE_QUEUE);
      await database.drop();
    }
  }, 90_000);
});
