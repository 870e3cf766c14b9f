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

interface OutboxRow {
  id: string;
  event_id: string;
  name: string;
  payload: Record<string, unknown>;
  correlation_id: string | null;
}

/**
 * Sends outbox rows to the events exchange, oldest first, and marks them sent
 * only after the broker confirmed them. One relay is active at a time across
 * all replicas: the one holding a PostgreSQL advisory lock on its own
 * connection (if that connection dies, the lock goes with it and another
 * replica takes over). Without a broker, events wait in the outbox.
 */
@Injectable()
export class OutboxRelay implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('OutboxRelay');
  private stopped = false;
  private signalStop!: () => void;
  private readonly stopping = new Promise<void>((resolve) => (this.signalStop = resolve));
  private running: Promise<void> | undefined;
  private wake: (() => void) | undefined;
  private lastPrune = 0;
  /** Whether this replica currently holds the relay lock. */
  leader = false;

  constructor(
    private readonly broker: BrokerConnection,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

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
      const client = new pg.Client({ connectionString: this.config.databaseUrl, application_name: 'user-service-outbox-relay' });
      client.on('error', (error) => this.logger.warn(`relay connection failed: ${error.message}`));
      client.on('notification', () => this.wake?.());
      try {
        await client.connect();
        if (await this.waitForLeadership(client)) {
          await client.query(`LISTEN ${OUTBOX_CHANNEL}`);
          await this.relay(client);
        }
      } catch (error) {
        if (!this.stopped) this.logger.warn(`relay stopped, restarting: ${(error as Error).message}`);
      } finally {
        this.leader = false;
        await client.end().catch(() => undefined);
      }
      if (!this.stopped) await this.pause(1_000, { wakeOnEvents: false });
    }
  }

  private async waitForLeadership(client: pg.Client): Promise<boolean> {
    while (!this.stopped) {
      const { rows } = await client.query<{ locked: boolean }>('SELECT pg_try_advisory_lock($1) AS locked', [RELAY_LOCK_ID]);
      if (rows[0]?.locked) {
        this.leader = true;
        this.logger.log('this replica relays the outbox');
        return true;
      }
      await this.pause(2_000);
    }
    return false;
  }

  private async relay(client: pg.Client): Promise<void> {
    let backoffMs = 0;
    while (!this.stopped) {
      const { sent, failed } = await this.publishBatch(client);
      if (failed) {
        backoffMs = Math.min(Math.max(backoffMs * 2, 500), MAX_BACKOFF_MS);
        await this.pause(backoffMs, { wakeOnEvents: false });
        continue;
      }
      backoffMs = 0;
      if (Date.now() - this.lastPrune > PRUNE_EVERY_MS) await this.prune(client);
      if (sent < BATCH_SIZE) await this.pause(POLL_MS);
    }
  }

  /** Publishes in id order and stops at the first failure, so one user's events never overtake each other. */
  private async publishBatch(client: pg.Client): Promise<{ sent: number; failed: boolean }> {
    const { rows } = await client.query<OutboxRow>(
      `SELECT id, event_id, name, payload, correlation_id FROM outbox_events
        WHERE published_at IS NULL ORDER BY id LIMIT ${BATCH_SIZE}`,
    );
    const sentIds: string[] = [];
    let failed = false;
    for (const row of rows) {
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
        sentIds.push(row.id);
      } catch (error) {
        failed = true;
        const message = (error as Error).message ?? String(error);
        this.logger.warn(`could not publish ${row.name} ${row.event_id}, will retry: ${message}`);
        await client.query('UPDATE outbox_events SET attempts = attempts + 1, last_error = $2 WHERE id = $1', [
          row.id,
          message.slice(0, 500),
        ]);
        break;
      }
    }
    if (sentIds.length > 0) {
      await client.query(
        `UPDATE outbox_events SET published_at = now(), attempts = attempts + 1, last_error = NULL,
                payload = payload - $2::text[]
          WHERE id = ANY($1::bigint[])`,
        [sentIds, SECRET_EVENT_FIELDS],
      );
    }
    return { sent: sentIds.length, failed };
  }

  private async prune(client: pg.Client): Promise<void> {
    this.lastPrune = Date.now();
    const { rowCount } = await client.query(
      `DELETE FROM outbox_events WHERE published_at < now() - make_interval(secs => $1)`,
      [this.config.messaging.outboxRetentionSeconds],
    );
    if (rowCount) this.logger.log(`pruned ${rowCount} published outbox rows`);
  }

  /** Waits at most ms; shutdown ends the wait, and so does a NOTIFY unless backing off. */
  private pause(ms: number, { wakeOnEvents } = { wakeOnEvents: true }): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      timer.unref();
      const stop = this.stopping;
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.wake = wakeOnEvents ? done : undefined;
      void stop.then(done);
    });
  }
}
