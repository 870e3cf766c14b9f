import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { join } from 'node:path';

import amqplib, { type Channel, type ChannelModel, type GetMessage } from 'amqplib';

import { UserServiceInbox, UserServicePatterns } from '../../src/client-kit/user-service.messages.js';
import { retryQueueName } from '../../src/core/messaging/service-queue-server.js';
import { buildRegistration, registerUser } from '../factories/user.factory.js';
import { EventCollector } from '../utils/event-collector.js';
import { waitFor } from '../utils/outbox.js';
import { TcpProxy } from '../utils/tcp-proxy.js';
import { bootTestApp, createTestDatabase, deleteBrokerObjects, describeWithRabbitMq, query, rabbitmqUrl, type TestApp } from '../utils/test-app.js';
import { UserServiceClient } from '../utils/user-service-client.js';

const UNKNOWN_ID = '00000000-0000-4000-8000-000000000000';

/** A raw AMQP connection for what a Nest client cannot send, and for looking into queues. */
async function rawBroker(): Promise<{ connection: ChannelModel; channel: Channel }> {
  const connection = await amqplib.connect(rabbitmqUrl()!);
  connection.on('error', () => undefined);
  const channel = await connection.createChannel();
  return { connection, channel };
}

async function drainQueue(channel: Channel, queue: string): Promise<GetMessage[]> {
  const messages: GetMessage[] = [];
  for (let message = await channel.get(queue, { noAck: true }); message; message = await channel.get(queue, { noAck: true })) {
    messages.push(message);
  }
  return messages;
}

describeWithRabbitMq('Consumer discipline of the service queue (e2e)', () => {
  describe('retries with back-off, then dead-letters with the reason', () => {
    let t: TestApp;
    let client: UserServiceClient;
    let broker: { connection: ChannelModel; channel: Channel };
    beforeAll(async () => {
      t = await bootTestApp({ captureLogs: true, env: { RABBITMQ_URL: rabbitmqUrl(), MESSAGE_MAX_ATTEMPTS: '3', MESSAGE_RETRY_DELAY_MS: '300' } });
      client = await UserServiceClient.connect(rabbitmqUrl()!, t.config.messaging.serviceQueue);
      broker = await rawBroker();
    });
    afterAll(async () => {
      await broker?.connection.close();
      await client?.close();
      await t?.close();
    });
    const failures = (pattern: string) =>
      t.logs().filter((line) => line.msg === 'message handler failed' && line.pattern === pattern) as { attempt: number; time: number }[];

    it('an event whose handler keeps failing runs 3 times, 300 ms then 600 ms apart, then waits in the dead-letter queue as it came', async () => {
      const collector = await EventCollector.start(rabbitmqUrl()!, t.config.messaging.eventsExchange);
      const user = await registerUser(t.http);
      await query(t.databaseUrl, `CREATE FUNCTION gate_broken() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'gate broken'; END $$`);
      await query(t.databaseUrl, 'CREATE TRIGGER gate_broken BEFORE INSERT ON notification_requests FOR EACH ROW EXECUTE FUNCTION gate_broken()');
      try {
        const request = { userId: user.id, channel: 'email', template: 'welcome', requestId: randomUUID() };
        await client.emit(UserServiceInbox.notificationRequested, request);
        const [dead] = await waitFor(async () => {
          const got = await broker.channel.get(t.config.messaging.deadLetterQueue, { noAck: true });
          return got ? [got] : undefined;
        }, 15_000);

        const runs = failures(UserServiceInbox.notificationRequested);
        expect(runs.map((run) => run.attempt)).toEqual([1, 2, 3]);
        // The broker held the message between runs (TTL queues), doubling the wait: no hot loop.
        expect(runs[1]!.time - runs[0]!.time).toBeGreaterThanOrEqual(280);
        expect(runs[2]!.time - runs[1]!.time).toBeGreaterThanOrEqual(580);

        expect(JSON.parse(dead!.content.toString())).toEqual({ pattern: UserServiceInbox.notificationRequested, data: request });
        expect(dead!.properties.headers).toMatchObject({
          'x-death-reason': expect.stringContaining('gate broken'),
          'x-attempts': 3,
          'x-original-pattern': UserServiceInbox.notificationRequested,
          'x-original-queue': t.config.messaging.serviceQueue,
          'x-first-failed-at': expect.any(String),
        });
        expect(dead!.properties.deliveryMode).toBe(2);
        for (const queue of [t.config.messaging.serviceQueue, retryQueueName(t.config.messaging.serviceQueue, 300), retryQueueName(t.config.messaging.serviceQueue, 600)]) {
          await expect(broker.channel.checkQueue(queue)).resolves.toMatchObject({ messageCount: 0 });
        }
        expect(collector.about(user.id).filter((event) => event.pattern.startsWith('notification.'))).toEqual([]);
      } finally {
        await query(t.databaseUrl, 'DROP TRIGGER gate_broken ON notification_requests');
        await query(t.databaseUrl, 'DROP FUNCTION gate_broken()');
      }
      // Fixed: the next request goes through.
      await client.emit(UserServiceInbox.notificationRequested, { userId: user.id, channel: 'email', template: 'welcome', requestId: randomUUID() });
      await collector.waitFor((events) => events.some((event) => event.pattern === 'notification.dispatch' && JSON.stringify(event.data).includes(user.id)));
      await collector.stop();
    }, 40_000);

    it('a request whose handler keeps failing is retried, then answered INTERNAL_ERROR (no internal text) and dead-lettered', async () => {
      await query(t.databaseUrl, 'ALTER TABLE users RENAME TO users_gone');
      try {
        const id = randomUUID();
        const error = await client.failureOf(UserServicePatterns.usersGet, { id }, 20_000);
        expect(error).toEqual({ code: 'INTERNAL_ERROR', message: 'Something went wrong on our side.' });
        expect(failures(UserServicePatterns.usersGet).map((run) => run.attempt)).toEqual([1, 2, 3]);
        const dead = await drainQueue(broker.channel, t.config.messaging.deadLetterQueue);
        expect(dead.map((message) => JSON.parse(message.content.toString()).data)).toEqual([{ id }]);
        expect(dead[0]!.properties.headers).toMatchObject({ 'x-attempts': 3, 'x-original-pattern': UserServicePatterns.usersGet });
      } finally {
        await query(t.databaseUrl, 'ALTER TABLE users_gone RENAME TO users');
      }
      await expect(client.send(UserServicePatterns.usersGet, { id: UNKNOWN_ID })).resolves.toBeNull();
    }, 40_000);

    it('bad messages are answered or dead-lettered, never left unacknowledged, and the service goes on', async () => {
      const queue = t.config.messaging.serviceQueue;
      const { queue: replyQueue } = await broker.channel.assertQueue('', { exclusive: true });
      const publish = (content: string, options: amqplib.Options.Publish = {}) => broker.channel.sendToQueue(queue, Buffer.from(content), options);

      publish('this is not JSON');
      publish(JSON.stringify({ data: { id: UNKNOWN_ID } }));
      publish(JSON.stringify({ pattern: UserServiceInbox.notificationRequested, data: { userId: UNKNOWN_ID, channel: 'fax', template: 'x' } }));
      publish(JSON.stringify({ pattern: 'orders.created', data: { orderId: 1 } }));
      const id = randomUUID();
      publish(JSON.stringify({ pattern: UserServicePatterns.usersGet, data: null, id }), { replyTo: replyQueue, correlationId: id });

      const reply = await waitFor(async () => (await broker.channel.get(replyQueue, { noAck: true })) || undefined, 10_000);
      expect(reply.properties.correlationId).toBe(id);
      expect(JSON.parse(reply.content.toString())).toMatchObject({ id, err: { code: 'VALIDATION_FAILED' }, isDisposed: true });

      const dead: GetMessage[] = [];
      await waitFor(async () => {
        dead.push(...(await drainQueue(broker.channel, t.config.messaging.deadLetterQueue)));
        return dead.length >= 4;
      });
      // Handled concurrently (prefetch), so in any order.
      const reasonOf = (message: GetMessage) => String(message.properties.headers?.['x-death-reason']);
      expect(dead.map(reasonOf).sort()).toEqual([
        'VALIDATION_FAILED: The request has invalid fields.',
        'no handler for the pattern "orders.created"',
        'not a Nest RMQ message: JSON { pattern, data } expected',
        'not a Nest RMQ message: JSON { pattern, data } expected',
      ]);
      const invalid = dead.find((message) => reasonOf(message).startsWith('VALIDATION_FAILED'))!;
      expect(invalid.properties.headers?.['x-field-errors']).toContain('channel');
      await expect(broker.channel.checkQueue(queue)).resolves.toMatchObject({ messageCount: 0 });
      await expect(client.send(UserServicePatterns.usersGet, { id: UNKNOWN_ID })).resolves.toBeNull();
    });
  });

  describe('the broker connection cut mid-test', () => {
    it('reconnects without a restart: answers what was sent meanwhile, publishes what was committed meanwhile, serves on', async () => {
      const proxy = await TcpProxy.forUrl(rabbitmqUrl()!).start();
      const t = await bootTestApp({ env: { RABBITMQ_URL: proxy.url(rabbitmqUrl()!) } });
      const client = await UserServiceClient.connect(rabbitmqUrl()!, t.config.messaging.serviceQueue);
      const collector = await EventCollector.start(rabbitmqUrl()!, t.config.messaging.eventsExchange);
      try {
        const before = await registerUser(t.http);
        await expect(client.send(UserServicePatterns.usersGet, { id: before.id }, 20_000)).resolves.toMatchObject({ id: before.id });

        await proxy.stop();
        const pending = client.send(UserServicePatterns.usersGet, { id: before.id }, 30_000);
        // HTTP goes on without the broker; the event waits in the outbox.
        const during = await registerUser(t.http);
        await new Promise((resolve) => setTimeout(resolve, 1_500));
        await proxy.start();

        await expect(pending).resolves.toMatchObject({ id: before.id });
        await collector.waitFor((events) => events.some((event) => event.pattern === 'user.created' && (event.data.user as { id: string }).id === during.id), 30_000);
        const after = await registerUser(t.http);
        await expect(client.send(UserServicePatterns.usersGet, { id: after.id })).resolves.toMatchObject({ id: after.id });
        await expect(client.send(UserServicePatterns.usersGetMany, { ids: [during.id, after.id] })).resolves.toHaveLength(2);
      } finally {
        await proxy.start();
        await collector.stop();
        await client.close();
        await t.close();
        await proxy.stop();
      }
    }, 60_000);
  });

  describe('SIGTERM during a burst', () => {
    it('of 200 notification requests and 100 users.get: none lost, each answered or requeued for the next instance', async () => {
      const database = await createTestDatabase();
      const names = {
        EVENTS_EXCHANGE: `user.events.test.${randomBytes(4).toString('hex')}`,
        SERVICE_QUEUE: `user-service.test.${randomBytes(4).toString('hex')}`,
      };
      const port = 20_000 + Math.floor(Math.random() * 20_000);
      const child: ChildProcess = spawn(process.execPath, ['dist/src/main.js'], {
        cwd: join(__dirname, '..', '..'),
        env: {
          PATH: process.env.PATH,
          NODE_ENV: 'test',
          PORT: String(port),
          DATABASE_URL: database.url,
          RABBITMQ_URL: rabbitmqUrl(),
          ...names,
          JWT_PRIVATE_KEY: process.env.TEST_JWT_PRIVATE_KEY,
          JWT_PUBLIC_KEY: process.env.TEST_JWT_PUBLIC_KEY,
          BCRYPT_COST: '4',
          LOG_LEVEL: 'silent',
          MESSAGE_PREFETCH: '50',
          RATE_LIMIT_REGISTER_LIMIT: '1000',
        },
        stdio: 'ignore',
      });
      let second: TestApp | undefined;
      let client: UserServiceClient | undefined;
      const collector = await EventCollector.start(rabbitmqUrl()!, names.EVENTS_EXCHANGE);
      try {
        const base = `http://127.0.0.1:${port}`;
        await waitFor(async () => (await fetch(`${base}/api/v1/health/ready`).catch(() => undefined))?.ok, 30_000);
        const users: string[] = [];
        for (let i = 0; i < 5; i += 1) {
          const response = await fetch(`${base}/api/v1/auth/register`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify(buildRegistration()),
          });
          users.push(((await response.json()) as { user: { id: string } }).user.id);
        }
        client = await UserServiceClient.connect(rabbitmqUrl()!, names.SERVICE_QUEUE);
        const requestIds = Array.from({ length: 200 }, () => randomUUID());
        const lookups = Array.from({ length: 100 }, (_, i) => client!.send(UserServicePatterns.usersGet, { id: users[i % users.length] }, 60_000));
        await Promise.all(
          requestIds.map((requestId, i) =>
            client!.emit(UserServiceInbox.notificationRequested, { userId: users[i % users.length], channel: 'email', template: 'burst', requestId }),
          ),
        );
        const notifications = () => collector.events.filter((event) => event.pattern === 'notification.dispatch');
        await waitFor(async () => notifications().length > 0, 20_000);
        child.kill('SIGTERM');
        const [code] = (await once(child, 'exit')) as [number | null];
        expect(code).toBe(0);
        const handledByFirst = notifications().length;

        second = await bootTestApp({ databaseUrl: database.url, env: { RABBITMQ_URL: rabbitmqUrl(), ...names } });
        const answers = await Promise.all(lookups);
        expect(answers.every((answer, i) => (answer as { id: string }).id === users[i % users.length])).toBe(true);
        await waitFor(async () => notifications().length >= 200, 30_000);
        await new Promise((resolve) => setTimeout(resolve, 1_000));

        const dispatched = notifications().map((event) => event.data.requestId as string);
        expect(dispatched).toHaveLength(200);
        expect(new Set(dispatched)).toEqual(new Set(requestIds));
        await expect(query(database.url, 'SELECT count(*)::int AS n FROM notification_requests')).resolves.toEqual([{ n: 200 }]);
        const { channel, connection } = await rawBroker();
        try {
          await expect(channel.checkQueue(names.SERVICE_QUEUE)).resolves.toMatchObject({ messageCount: 0 });
          await expect(channel.checkQueue(`${names.SERVICE_QUEUE}.dead-letter`)).resolves.toMatchObject({ messageCount: 0 });
        } finally {
          await connection.close();
        }
        // The signal came mid-burst: the first instance left work that the second one did.
        expect(handledByFirst).toBeLessThan(200);
      } finally {
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
        await client?.close();
        await collector.stop();
        await second?.close();
        await deleteBrokerObjects(names.EVENTS_EXCHANGE, names.SERVICE_QUEUE);
        await database.drop();
      }
    }, 120_000);
  });
});
