import { randomUUID } from 'node:crypto';

import amqplib from 'amqplib';

import { withCorrelationId } from '../../src/client-kit/user-service.client.js';
import { UserServiceInbox } from '../../src/client-kit/user-service.messages.js';
import { registerUser } from '../factories/user.factory.js';
import { createAdmin } from '../utils/admin.js';
import { bootTestApp, describeWithRabbitMq, query, rabbitmqUrl, type TestApp } from '../utils/test-app.js';
import { NotificationEventsSubscriber } from '../utils/user-events-subscriber.js';
import { UserServiceClient } from '../utils/user-service-client.js';

const settle = () => new Promise((resolve) => setTimeout(resolve, 1_000));

describeWithRabbitMq('Notification gating: notification.requested → dispatch or suppressed (e2e)', () => {
  let t: TestApp;
  let client: UserServiceClient;
  let subscriber: NotificationEventsSubscriber;
  const request = (data: Record<string, unknown>) => client.emit(UserServiceInbox.notificationRequested, data);
  const auth = (token: string) => ({ Authorization: `Bearer ${token}` });

  beforeAll(async () => {
    t = await bootTestApp({ env: { RABBITMQ_URL: rabbitmqUrl() } });
    subscriber = await NotificationEventsSubscriber.start(rabbitmqUrl()!, t.config.messaging.eventsExchange);
    client = await UserServiceClient.connect(rabbitmqUrl()!, t.config.messaging.serviceQueue);
  });
  afterAll(async () => {
    await client?.close();
    await subscriber?.stop();
    await t?.close();
  });

  it("dispatches to the channel's address in the user's language, with the template and its data unchanged", async () => {
    const user = await registerUser(t.http, { mobile: '+447911123456' });
    await t.http().patch('/api/v1/users/me/preferences').set(auth(user.accessToken)).send({ language: 'fr-FR', smsNotifications: true, pushToken: 'device-token-1' }).expect(200);

    await request({ userId: user.id, channel: 'email', template: 'order-shipped', data: { orderId: 'A-1', items: [1, 2] }, requestId: randomUUID() });
    await request({ userId: user.id, channel: 'sms', template: 'otp', data: { code: '123456' }, requestId: randomUUID() });
    await request({ userId: user.id, channel: 'push', template: 'sale', requestId: randomUUID() });

    const events = await subscriber.waitFor(user.id, 3);
    expect(events.map((event) => event.name)).toEqual(['notification.dispatch', 'notification.dispatch', 'notification.dispatch']);
    const byChannel = Object.fromEntries(events.map((event) => [event.data.channel, event.data]));
    expect(byChannel.email).toMatchObject({ to: user.email, template: 'order-shipped', data: { orderId: 'A-1', items: [1, 2] }, userId: user.id, language: 'fr-FR' });
    expect(byChannel.sms).toMatchObject({ to: '+447911123456', template: 'otp', data: { code: '123456' }, language: 'fr-FR' });
    expect(byChannel.push).toMatchObject({ to: 'device-token-1', template: 'sale', data: {} });
    for (const event of events) expect(event.data).toEqual(expect.objectContaining({ eventId: expect.any(String), occurredAt: expect.any(String) }));
  });

  it('suppresses with the reason: unknown user, inactive, opted out, no address for the channel', async () => {
    const unknown = randomUUID();
    await request({ userId: unknown, channel: 'email', template: 'welcome', requestId: randomUUID() });

    const blocked = await registerUser(t.http);
    const admin = await createAdmin(t);
    await t.http().patch(`/api/v1/admin/users/${blocked.id}/status`).set(auth(admin.accessToken)).send({ status: 'blocked', reason: 'fraud' }).expect(200);
    await request({ userId: blocked.id, channel: 'email', template: 'welcome', requestId: randomUUID() });

    const optedOut = await registerUser(t.http, { mobile: '+447911000001' });
    // SMS is off by default; email turned off here.
    await t.http().patch('/api/v1/users/me/preferences').set(auth(optedOut.accessToken)).send({ emailNotifications: false }).expect(200);
    await request({ userId: optedOut.id, channel: 'email', template: 'welcome', requestId: randomUUID() });
    await request({ userId: optedOut.id, channel: 'sms', template: 'welcome', requestId: randomUUID() });

    const noAddress = await registerUser(t.http);
    await t.http().patch('/api/v1/users/me/preferences').set(auth(noAddress.accessToken)).send({ smsNotifications: true }).expect(200);
    await request({ userId: noAddress.id, channel: 'sms', template: 'otp', requestId: randomUUID() });
    // Push is on by default, but there is no push token.
    await request({ userId: noAddress.id, channel: 'push', template: 'sale', requestId: randomUUID() });

    const outcome = async (userId: string, count: number) =>
      (await subscriber.waitFor(userId, count)).map((event) => [event.name, event.data.channel, 'reason' in event.data ? event.data.reason : undefined]);
    await expect(outcome(unknown, 1)).resolves.toEqual([['notification.suppressed', 'email', 'unknown_user']]);
    await expect(outcome(blocked.id, 1)).resolves.toEqual([['notification.suppressed', 'email', 'inactive']]);
    expect(new Set(await outcome(optedOut.id, 2))).toEqual(
      new Set([
        ['notification.suppressed', 'email', 'opted_out'],
        ['notification.suppressed', 'sms', 'opted_out'],
      ]),
    );
    expect(new Set(await outcome(noAddress.id, 2))).toEqual(
      new Set([
        ['notification.suppressed', 'sms', 'no_address'],
        ['notification.suppressed', 'push', 'no_address'],
      ]),
    );
    // Nothing about the address leaks into a suppression.
    for (const event of subscriber.for(noAddress.id)) expect(event.data).not.toHaveProperty('to');
  });

  it('is idempotent by requestId: the same request twice dispatches once', async () => {
    const user = await registerUser(t.http);
    const requestId = `order-${randomUUID()}`;
    await request({ userId: user.id, channel: 'email', template: 'order-shipped', requestId });
    await request({ userId: user.id, channel: 'email', template: 'order-shipped', requestId });
    await subscriber.waitFor(user.id, 1);
    await settle();
    expect(subscriber.for(user.id)).toHaveLength(1);
    expect(subscriber.for(user.id)[0]!.data.requestId).toBe(requestId);
    await expect(query(t.databaseUrl, 'SELECT outcome FROM notification_requests WHERE request_key = $1', [`id:${requestId}`])).resolves.toEqual([
      { outcome: 'dispatch' },
    ]);
  });

  it('a redelivered message without requestId (same message-id, or the very same bytes) is handled once; a suppression too', async () => {
    const user = await registerUser(t.http);
    const connection = await amqplib.connect(rabbitmqUrl()!);
    try {
      const channel = await connection.createConfirmChannel();
      const queue = t.config.messaging.serviceQueue;
      const publish = async (data: Record<string, unknown>, options: amqplib.Options.Publish = {}) => {
        channel.sendToQueue(queue, Buffer.from(JSON.stringify({ pattern: UserServiceInbox.notificationRequested, data })), { persistent: true, ...options });
        await channel.waitForConfirms();
      };
      const messageId = randomUUID();
      await publish({ userId: user.id, channel: 'email', template: 'a' }, { messageId });
      await publish({ userId: user.id, channel: 'email', template: 'a' }, { messageId });
      await publish({ userId: user.id, channel: 'sms', template: 'b' });
      await publish({ userId: user.id, channel: 'sms', template: 'b' });
      await subscriber.waitFor(user.id, 2);
      await settle();
      // Four messages, handled side by side (prefetch): their order is not promised, their outcomes are.
      const outcomes = subscriber.for(user.id).map((event) => [event.name, event.data.channel]);
      expect(outcomes.sort()).toEqual([
        ['notification.dispatch', 'email'],
        ['notification.suppressed', 'sms'],
      ]);
    } finally {
      await connection.close();
    }
  });

  it("carries the requester's correlation id into the event it causes", async () => {
    const user = await registerUser(t.http);
    const correlationId = `checkout-${randomUUID()}`;
    await client.emit(UserServiceInbox.notificationRequested, withCorrelationId({ userId: user.id, channel: 'email', template: 'receipt' }, correlationId));
    const [event] = await subscriber.waitFor(user.id, 1);
    expect(event!.data.correlationId).toBe(correlationId);
    const [row] = await query<{ correlation_id: string }>(t.databaseUrl, "SELECT correlation_id FROM outbox_events WHERE name = 'notification.dispatch' AND aggregate_id = $1", [user.id]);
    expect(row!.correlation_id).toBe(correlationId);
  });

  it('writes the outcome and its event in one transaction: an event that cannot be recorded leaves no idempotency record', async () => {
    const user = await registerUser(t.http);
    const requestId = randomUUID();
    await query(t.databaseUrl, `CREATE FUNCTION refuse_dispatch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN
      IF NEW.name = 'notification.dispatch' THEN RAISE EXCEPTION 'outbox refuses'; END IF; RETURN NEW; END $$`);
    await query(t.databaseUrl, 'CREATE TRIGGER refuse_dispatch BEFORE INSERT ON outbox_events FOR EACH ROW EXECUTE FUNCTION refuse_dispatch()');
    try {
      await request({ userId: user.id, channel: 'email', template: 'welcome', requestId });
      // The first attempt fails and rolls back; its retry waits in the delay queue.
      await new Promise((resolve) => setTimeout(resolve, 300));
      await expect(query(t.databaseUrl, 'SELECT 1 FROM notification_requests WHERE request_key = $1', [`id:${requestId}`])).resolves.toEqual([]);
    } finally {
      await query(t.databaseUrl, 'DROP TRIGGER refuse_dispatch ON outbox_events');
      await query(t.databaseUrl, 'DROP FUNCTION refuse_dispatch()');
    }
    // The retry then goes through: dispatched once.
    await subscriber.waitFor(user.id, 1, 20_000);
    expect(subscriber.for(user.id).map((event) => event.name)).toEqual(['notification.dispatch']);
  }, 30_000);
});
