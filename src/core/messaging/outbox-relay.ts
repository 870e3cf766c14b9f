import { Inject, Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import pg from 'pg';

import type { AppConfig } from '../config/config.js';
import { APP_CONFIG } from '../config/config.module.js';
import { BrokerConnection } from './broker-connection.js';
import { SECRET_EVENT_FIELDS } from './domain-event.js';
import { OUTBOX_CHANNEL } from './event-publisher.js';

// All replicas must agree on it; only the holder of this lock relays.
const RELAY_LOCK_ID = 727_001_003;
const BATCH_SIZE = 100;
/** A safety net: NOTIFY wakes the relay at once, this catches anything missed (e.g. across a reconnect). */
const POLL_MS = 5_000;
const PUBLISH_TIMEOUT_MS = 5_000;
const MAX_BACKOFF_MS = 30_000;
const PRUNE_EVERY_MS = 3_600_000;
/** Small enough that one DELETE stays well inside the statement timeout. */
const PRUNE_BATCH = 5_000;

export interface OutboxRow {
  id: string;
  event_id: string;
  name: string;
  aggregate_id: string | null;
  payload: Record<string, unknown>;
  correlation_id: string | null;
  /** Why the broker did not confirm it, in this batch. */
  failure?: string;
}

/**
 * Sends outbox rows to the events exchange, oldest first, and marks them sent
 * only after the broker confirmed them. One relay is active at a time across
 * all replicas: the one holding a PostgreSQL advisory lock on its own
 * connection (if that connection dies, the lock goes with it and another
 * replica takes over). Without a broker, events wait in the outbox.
 *
 * A cut path (partition, blackholed route) closes nothing, and TCP alone would
 * keep the session, and the lock, alive for hours. So the session is leased:
 * the server ends it once it has heard nothing for OUTBOX_LEASE_SECONDS
 * (idle_session_timeout, PostgreSQL 14+), the leader queries at least every
 * third of the lease, and a query unanswered for a third of the lease makes
 * the leader drop its connection and step down, usually before the server
 * frees the lock for another replica.
 */
@Injectable()
export class OutboxRelay implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('OutboxRelay');
  private stopped = false;
  private signalStop!: () => void;
  private readonly stopping = new Promise<void>((resolve) => (this.signalStop = resolve));
  private running: Promise<void> | undefined;
  private wake: (() => void) | undefined;
  /**
   * A NOTIFY came since the last batch was read: one that arrives while a batch
   * is being published is not lost (the next wait ends at once) and does not
   * wait for the poll.
   */
  private notified = false;
  private lastPrune = 0;
  /** Whether this replica currently holds the relay lock. */
  leader = false;
  private readonly leaseMs: number;
  /** How often the leader renews its lease (and a follower asks for the lock); also the client-side query timeout. */
  private readonly renewMs: number;

  constructor(
    private readonly broker: BrokerConnection,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {
    this.leaseMs = config.messaging.outboxLeaseSeconds * 1_000;
    this.renewMs = Math.floor(this.leaseMs / 3);
  }

  onApplicationBootstrap(): void {
    if (this.broker.configured) this.running = this.run();
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopped = true;
    this.signalStop();
    await this.running;
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      const client = new pg.Client({
        connectionString: this.config.databaseUrl,
        application_name: 'user-service-outbox-relay',
        keepAlive: true,
        keepAliveInitialDelayMillis: this.renewMs,
        connectionTimeoutMillis: this.leaseMs,
        query_timeout: this.renewMs,
      });
      client.on('error', (error) => this.logger.warn(`relay connection failed: ${error.message}`));
      client.on('notification', () => {
        this.notified = true;
        this.wake?.();
      });
      try {
        await client.connect();
        await this.boundSession(client);
        if (await this.waitForLeadership(client)) {
          await client.query(`LISTEN ${OUTBOX_CHANNEL}`);
          await this.relay(client);
        }
      } catch (error) {
        if (!this.stopped) this.logger.warn(`relay stopped, restarting: ${(error as Error).message}`);
      } finally {
        if (this.leader && !this.stopped) this.logger.warn('this replica no longer relays the outbox');
        this.leader = false;
        await this.disconnect(client);
      }
      if (!this.stopped) await this.pause(1_000, { wakeOnEvents: false });
    }
  }

  /**
   * The server's side of the lease: it ends this session (freeing the lock) on
   * its own when the client goes quiet, even if the socket still looks healthy.
   * Statements get the same bound as the client's query timeout; keepalives
   * and the TCP user timeout drop a dead peer within about a lease.
   */
  private async boundSession(client: pg.Client): Promise<void> {
    const probeSeconds = Math.max(1, Math.floor(this.renewMs / 1_000));
    await client.query(
      `SET idle_session_timeout = ${this.leaseMs};
       SET idle_in_transaction_session_timeout = ${this.leaseMs};
       SET statement_timeout = ${this.renewMs};
       SET tcp_keepalives_idle = ${probeSeconds};
       SET tcp_keepalives_interval = ${probeSeconds};
       SET tcp_keepalives_count = 2;
       SET tcp_user_timeout = ${this.leaseMs}`,
    );
  }

  /** end() waits for the server's goodbye, which never comes over a cut path: then the socket is destroyed. */
  private async disconnect(client: pg.Client): Promise<void> {
    const timer = setTimeout(() => client.connection.stream.destroy(), 1_000);
    await client.end().catch(() => undefined);
    clearTimeout(timer);
  }

  private async waitForLeadership(client: pg.Client): Promise<boolean> {
    while (!this.stopped) {
      const { rows } = await client.query<{ locked: boolean }>('SELECT pg_try_advisory_lock($1) AS locked', [RELAY_LOCK_ID]);
      if (rows[0]?.locked) {
        this.leader = true;
        this.logger.log('this replica relays the outbox');
        return true;
      }
      await this.pause(Math.min(2_000, this.renewMs));
    }
    return false;
  }

  private async relay(client: pg.Client): Promise<void> {
    let backoffMs = 0;
    while (!this.stopped) {
      const { sent, failed } = await this.publishBatch(client);
      if (failed) {
        backoffMs = Math.min(Math.max(backoffMs * 2, 500), MAX_BACKOFF_MS);
        await this.holdLease(client, backoffMs, { wakeOnEvents: false });
        continue;
      }
      backoffMs = 0;
      if (Date.now() - this.lastPrune > PRUNE_EVERY_MS) await this.prune(client);
      if (sent < BATCH_SIZE) await this.holdLease(client, POLL_MS);
    }
  }

  /** pause(), renewing the lease every renewMs meanwhile; a failed renewal throws, so the leader steps down. */
  private async holdLease(client: pg.Client, ms: number, options?: { wakeOnEvents: boolean }): Promise<void> {
    const until = Date.now() + ms;
    for (;;) {
      const left = until - Date.now();
      if (left <= 0 || (await this.pause(Math.min(left, this.renewMs), options)) || this.stopped) return;
      if (until - Date.now() > 0) await client.query('SELECT 1');
    }
  }

  /**
   * Publishes a batch with many messages in flight at once (one confirm round
   * trip per message, one after the other, capped the relay at about 110
   * events a second here), yet in order per aggregate (user): an event is
   * published only once the one before it of the same aggregate is confirmed,
   * and after a failure the aggregate's later events wait for the next batch,
   * so one user's events never overtake each other. Other aggregates go on.
   */
  private async publishBatch(client: pg.Client): Promise<{ sent: number; failed: boolean }> {
    this.notified = false;
    const { rows } = await client.query<OutboxRow>(
      `SELECT id, event_id, name, aggregate_id, payload, correlation_id FROM outbox_events
        WHERE published_at IS NULL ORDER BY id LIMIT ${BATCH_SIZE}`,
    );
    const previousOf = new Map<string, Promise<boolean>>();
    const outcomes = rows.map((row) => {
      const aggregate = row.aggregate_id ?? row.event_id;
      const outcome = (previousOf.get(aggregate) ?? Promise.resolve(true)).then((previousSent) => previousSent && this.publishRow(row));
      previousOf.set(aggregate, outcome);
      return outcome;
    });
    // A slow broker must not let the lease lapse while the batch waits for its confirms.
    const renewal = setInterval(() => void client.query('SELECT 1').catch(() => undefined), this.renewMs);
    let sentFlags: boolean[];
    try {
      sentFlags = await Promise.all(outcomes);
    } finally {
      clearInterval(renewal);
    }
    const sentIds = rows.filter((_, i) => sentFlags[i]).map((row) => row.id);
    const failedRows = rows.filter((row) => row.failure !== undefined);
    for (const row of failedRows) {
      await client.query('UPDATE outbox_events SET attempts = attempts + 1, last_error = $2 WHERE id = $1', [row.id, row.failure!.slice(0, 500)]);
    }
    if (sentIds.length > 0) {
      await client.query(
        `UPDATE outbox_events SET published_at = now(), attempts = attempts + 1, last_error = NULL,
                payload = payload - $2::text[]
          WHERE id = ANY($1::bigint[])`,
        [sentIds, SECRET_EVENT_FIELDS],
      );
    }
    return { sent: sentIds.length, failed: sentIds.length < rows.length };
  }

  /** Resolves true once the broker confirmed the row; false (the reason kept on the row) when it did not. */
  private async publishRow(row: OutboxRow): Promise<boolean> {
    try {
      await this.broker.publish(
        this.config.messaging.eventsExchange,
        row.name,
        { pattern: row.name, data: row.payload },
        {
          messageId: row.event_id,
          correlationId: row.correlation_id ?? undefined,
          headers: row.correlation_id ? { 'x-correlation-id': row.correlation_id } : {},
          timeout: PUBLISH_TIMEOUT_MS,
        },
      );
      return true;
    } catch (error) {
      row.failure = (error as Error).message ?? String(error);
      this.logger.warn(`could not publish ${row.name} ${row.event_id}, will retry: ${row.failure}`);
      return false;
    }
  }

  private async prune(client: pg.Client): Promise<void> {
    this.lastPrune = Date.now();
    let pruned = 0;
    for (;;) {
      const { rowCount } = await client.query(
        `DELETE FROM outbox_events WHERE id IN (
           SELECT id FROM outbox_events WHERE published_at < now() - make_interval(secs => $1) LIMIT ${PRUNE_BATCH})`,
        [this.config.messaging.outboxRetentionSeconds],
      );
      pruned += rowCount ?? 0;
      if ((rowCount ?? 0) < PRUNE_BATCH || this.stopped) break;
    }
    if (pruned) this.logger.log(`pruned ${pruned} published outbox rows`);
  }

  /** Waits at most ms, resolving true when cut short: shutdown ends the wait, and so does a NOTIFY unless backing off. */
  private pause(ms: number, { wakeOnEvents } = { wakeOnEvents: true }): Promise<boolean> {
    if (wakeOnEvents && this.notified) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => done(false), ms);
      timer.unref();
      const stop = this.stopping;
      function done(early: boolean) {
        clearTimeout(timer);
        resolve(early);
      }
      this.wake = wakeOnEvents ? () => done(true) : undefined;
      void stop.then(() => done(true));
    });
  }
}
