import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { join } from 'node:path';

import { Controller, type INestMicroservice, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Ctx, EventPattern, type MicroserviceOptions, Payload, RmqContext, Transport } from '@nestjs/microservices';

import { buildRegistration, registerUser } from '../factories/user.factory.js';
import { EventCollector } from '../utils/event-collector.js';
import { outboxEvents, waitFor } from '../utils/outbox.js';
import { TcpProxy } from '../utils/tcp-proxy.js';
import { bootTestApp, createTestDatabase, deleteBrokerObjects, describeWithRabbitMq, query, rabbitmqUrl, type TestApp } from '../utils/test-app.js';

/** A consuming service as another team would write it: its own queue bound to user.events, @EventPattern handlers. */
@Controller()
class UserCreatedListener {
  static received: { data: Record<string, unknown>; correlationHeader: unknown }[] = [];

  @EventPattern('user.created')
  onUserCreated(@Payload() data: Record<string, unknown>, @Ctx() context: unknown): void {
    const headers = ((context as RmqContext).getMessage() as { properties: { headers?: Record<string, unknown> } }).properties.headers ?? {};
    UserCreatedListener.received.push({ data, correlationHeader: headers['x-correlation-id'] });
  }
}

@Module({ controllers: [UserCreatedListener] })
class ConsumerModule {}

describeWithRabbitMq('Outbox relay to RabbitMQ (e2e)', () => {
  let t: TestApp;
  let collector: EventCollector;

  beforeAll(async () => {
    t = await bootTestApp({ env: { RABBITMQ_URL: rabbitmqUrl() } });
    collector = await EventCollector.start(rabbitmqUrl()!, t.config.messaging.eventsExchange);
  });
  afterAll(async () => {
    await collector.stop();
    await t.close();
  });

  it('a Nest microservice bound to the exchange receives user.created through @EventPattern after a registration', async () => {
    const queue = `${t.config.messaging.serviceQueue}.consumer`;
    const consumer: INestMicroservice = await NestFactory.createMicroservice<MicroserviceOptions>(
      ConsumerModule,
      {
        transport: Transport.RMQ,
        options: {
          urls: [rabbitmqUrl()!],
          queue,
          queueOptions: { durable: true },
          exchange: t.config.messaging.eventsExchange,
          exchangeType: 'topic',
          wildcards: true,
          noAck: true,
        },
        logger: false,
      },
    );
    await consumer.listen();
    try {
      const response = await t.http().post('/api/v1/auth/register').set('X-Correlation-ID', 'corr-outbox-1').send(buildRegistration()).expect(201);
      await waitFor(async () => UserCreatedListener.received.find((r) => (r.data.user as { id: string }).id === response.body.user.id));
      const received = UserCreatedListener.received.find((r) => (r.data.user as { id: string }).id === response.body.user.id)!;
      expect(received.data).toMatchObject({
        eventId: expect.any(String),
        occurredAt: expect.any(String),
        correlationId: 'corr-outbox-1',
        user: { id: response.body.user.id, email: response.body.user.email },
      });
      expect(received.correlationHeader).toBe('corr-outbox-1');
    } finally {
      await consumer.close();
      await deleteBrokerObjects(undefined, queue);
    }
  });

  it('publishes persistent messages with the event id, marks rows sent and strips mailed tokens from the outbox', async () => {
    const user = await registerUser(t.http);
    await collector.waitFor(() => collector.about(user.id).length >= 2);
    const [created, verification] = collector.about(user.id);
    expect(created).toMatchObject({ routingKey: 'user.created', pattern: 'user.created', persistent: true, messageId: created.data.eventId });
    expect(verification.pattern).toBe('user.email_verification_requested');
    expect(verification.data.token).toEqual(expect.any(String));
    const rows = await waitFor(async () => {
      const found = await outboxEvents(t.databaseUrl, user.id);
      return found.every((row) => row.published_at) ? found : undefined;
    });
    expect(rows.find((row) => row.name === 'user.email_verification_requested')!.payload).not.toHaveProperty('token');
  });

  it('prunes published rows after the retention period, never unpublished ones', async () => {
    const database = await createTestDatabase();
    const insert = (name: string, publishedAgo: string | null) =>
      query(
        database.url,
        `INSERT INTO outbox_events (event_id, name, payload, published_at)
         VALUES (gen_random_uuid(), $1, '{}', CASE WHEN $2::interval IS NULL THEN NULL ELSE now() - $2::interval END)`,
        [name, publishedAgo],
      );
    await insert('old.published', '8 days');
    await insert('recent.published', '1 day');
    await query(database.url, "INSERT INTO outbox_events (event_id, name, payload, created_at) VALUES (gen_random_uuid(), 'old.pending', '{}', now() - interval '30 days')");
    const app = await bootTestApp({ databaseUrl: database.url, env: { RABBITMQ_URL: rabbitmqUrl(), OUTBOX_RETENTION_SECONDS: String(7 * 86_400) } });
    try {
      await waitFor(async () => (await query(database.url, "SELECT 1 FROM outbox_events WHERE name = 'old.published'")).length === 0);
      const left = await query(database.url, 'SELECT name FROM outbox_events ORDER BY id');
      // The old unpublished row is published now (and so kept for the retention period), not dropped.
      expect(left.map((row) => row.name)).toEqual(['recent.published', 'old.pending']);
    } finally {
      await app.close();
      await database.drop();
    }
  });

  it('keeps one user’s events in commit order', async () => {
    const user = await registerUser(t.http);
    const bearer = { Authorization: `Bearer ${user.accessToken}` };
    for (const name of ['One', 'Two', 'Three']) {
      await t.http().patch('/api/v1/users/me').set(bearer).send({ name }).expect(200);
    }
    await t.http().patch('/api/v1/users/me/preferences').set(bearer).send({ language: 'it' }).expect(200);
    await collector.waitFor(() => collector.about(user.id).length >= 6);
    expect(collector.about(user.id).map((e) => e.pattern)).toEqual([
      'user.created',
      'user.email_verification_requested',
      'user.updated',
      'user.updated',
      'user.updated',
      'preferences.updated',
    ]);
    expect(collector.about(user.id).slice(2, 5).map((e) => (e.data.user as { name: string }).name)).toEqual(['One', 'Two', 'Three']);
  });
});

describeWithRabbitMq('Outbox delivery when things fail (e2e)', () => {
  it('events recorded while RabbitMQ is unreachable are delivered once it is back', async () => {
    const proxy = await TcpProxy.forUrl(rabbitmqUrl()!).start();
    const t = await bootTestApp({ env: { RABBITMQ_URL: proxy.url(rabbitmqUrl()!) } });
    const collector = await EventCollector.start(rabbitmqUrl()!, t.config.messaging.eventsExchange);
    try {
      await registerUser(t.http);
      await collector.waitFor((events) => events.length >= 2);

      await proxy.stop();
      const during = await Promise.all([registerUser(t.http), registerUser(t.http), registerUser(t.http)]);
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      const pending = await query(t.databaseUrl, 'SELECT count(*)::int AS n FROM outbox_events WHERE published_at IS NULL');
      expect(pending[0].n).toBeGreaterThanOrEqual(6);

      await proxy.start();
      for (const user of during) {
        await collector.waitFor(() => collector.about(user.id).length >= 2, 40_000);
        expect(collector.about(user.id).map((e) => e.pattern)).toEqual(['user.created', 'user.email_verification_requested']);
      }
      await waitFor(async () => (await query(t.databaseUrl, 'SELECT 1 FROM outbox_events WHERE published_at IS NULL')).length === 0, 10_000);
    } finally {
      await collector.stop();
      await t.close();
      await proxy.stop();
    }
  }, 90_000);

  it('two relays on one database never both publish: each event arrives once; the survivor takes over', async () => {
    const database = await createTestDatabase();
    const messaging = {
      RABBITMQ_URL: rabbitmqUrl(),
      EVENTS_EXCHANGE: `user.events.test.${randomBytes(4).toString('hex')}`,
      SERVICE_QUEUE: `user-service.test.${randomBytes(4).toString('hex')}`,
    };
    const replicas = await Promise.all([0, 1].map(() => bootTestApp({ databaseUrl: database.url, env: messaging })));
    const collector = await EventCollector.start(rabbitmqUrl()!, messaging.EVENTS_EXCHANGE);
    const { OutboxRelay } = await import('../../src/core/messaging/outbox-relay.js');
    const isLeader = (replica: TestApp) => replica.app.get(OutboxRelay).leader;
    const closed = new Set<TestApp>();
    try {
      await waitFor(async () => replicas.some(isLeader));
      expect(replicas.filter(isLeader)).toHaveLength(1);

      const users = await Promise.all(Array.from({ length: 20 }, (_, i) => registerUser(replicas[i % 2].http)));
      await collector.waitFor((events) => events.length >= 40, 30_000);
      await new Promise((resolve) => setTimeout(resolve, 500));
      const ids = collector.events.map((e) => e.data.eventId);
      expect(new Set(ids).size).toBe(ids.length);
      expect(ids).toHaveLength(40);
      for (const user of users) expect(collector.about(user.id)).toHaveLength(2);

      // The leader goes away; the other replica takes over and delivers what comes next.
      const leader = replicas.find(isLeader)!;
      const survivor = replicas.find((replica) => replica !== leader)!;
      await leader.close();
      closed.add(leader);
      const late = await registerUser(survivor.http);
      await collector.waitFor(() => collector.about(late.id).length === 2, 30_000);
      expect(isLeader(survivor)).toBe(true);
    } finally {
      await collector.stop();
      for (const replica of replicas) if (!closed.has(replica)) await replica.close().catch(() => undefined);
      await deleteBrokerObjects(messaging.EVENTS_EXCHANGE, messaging.SERVICE_QUEUE);
      await database.drop();
    }
  }, 90_000);

  it('a process killed after the commit and before the publish delivers its events after a restart', async () => {
    const database = await createTestDatabase();
    const names = {
      EVENTS_EXCHANGE: `user.events.test.${randomBytes(4).toString('hex')}`,
      SERVICE_QUEUE: `user-service.test.${randomBytes(4).toString('hex')}`,
    };
    // The broker is unreachable for the first process, so nothing it commits can be published.
    const proxy = await TcpProxy.forUrl(rabbitmqUrl()!).start();
    const unreachableBroker = proxy.url(rabbitmqUrl()!);
    await proxy.stop();
    const port = 20_000 + Math.floor(Math.random() * 20_000);
    const child: ChildProcess = spawn(process.execPath, ['dist/src/main.js'], {
      cwd: join(__dirname, '..', '..'),
      env: {
        PATH: process.env.PATH,
        NODE_ENV: 'test',
        PORT: String(port),
        DATABASE_URL: database.url,
        RABBITMQ_URL: unreachableBroker,
        ...names,
        JWT_PRIVATE_KEY: process.env.TEST_JWT_PRIVATE_KEY,
        JWT_PUBLIC_KEY: process.env.TEST_JWT_PUBLIC_KEY,
        BCRYPT_COST: '4',
        LOG_LEVEL: 'silent',
      },
      stdio: 'ignore',
    });
    let restarted: TestApp | undefined;
    let collector: EventCollector | undefined;
    try {
      const base = `http://127.0.0.1:${port}`;
      await waitFor(async () => (await fetch(`${base}/api/v1/health/live`).catch(() => undefined))?.ok, 20_000);
      const response = await fetch(`${base}/api/v1/auth/register`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(buildRegistration()),
      });
      expect(response.status).toBe(201);
      const { user } = (await response.json()) as { user: { id: string } };
      const recorded = await outboxEvents(database.url, user.id);
      expect(recorded.map((row) => [row.name, row.published_at])).toEqual([
        ['user.created', null],
        ['user.email_verification_requested', null],
      ]);

      child.kill('SIGKILL');
      await once(child, 'exit');

      collector = await EventCollector.start(rabbitmqUrl()!, names.EVENTS_EXCHANGE);
      restarted = await bootTestApp({ databaseUrl: database.url, env: { RABBITMQ_URL: rabbitmqUrl(), ...names } });
      await collector.waitFor(() => collector!.about(user.id).length === 2, 30_000);
      expect(collector.about(user.id).map((e) => e.pattern)).toEqual(['user.created', 'user.email_verification_requested']);
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await collector?.stop();
      await restarted?.close();
      await deleteBrokerObjects(names.EVENTS_EXCHANGE, names.SERVICE_QUEUE);
      await database.drop();
    }
  }, 120_000);
});
