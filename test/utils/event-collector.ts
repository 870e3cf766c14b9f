import amqplib, { type Channel, type ChannelModel } from 'amqplib';

export interface CollectedEvent {
  routingKey: string;
  pattern: string;
  data: Record<string, unknown> & { eventId: string; correlationId: string | null };
  messageId: string | undefined;
  headers: Record<string, unknown>;
  persistent: boolean;
}

/** A plain AMQP consumer bound to every routing key of an exchange: sees exactly what was published. */
export class EventCollector {
  readonly events: CollectedEvent[] = [];
  private connection: ChannelModel | undefined;
  private channel: Channel | undefined;

  static async start(url: string, exchange: string): Promise<EventCollector> {
    const collector = new EventCollector();
    collector.connection = await amqplib.connect(url);
    collector.connection.on('error', () => undefined);
    const channel = await collector.connection.createChannel();
    channel.on('error', () => undefined);
    collector.channel = channel;
    await channel.assertExchange(exchange, 'topic', { durable: true });
    const { queue } = await channel.assertQueue('', { exclusive: true, autoDelete: true });
    await channel.bindQueue(queue, exchange, '#');
    await channel.consume(
      queue,
      (message) => {
        if (!message) return;
        const body = JSON.parse(message.content.toString()) as { pattern: string; data: CollectedEvent['data'] };
        collector.events.push({
          routingKey: message.fields.routingKey,
          pattern: body.pattern,
          data: body.data,
          messageId: message.properties.messageId as string | undefined,
          headers: (message.properties.headers ?? {}) as Record<string, unknown>,
          persistent: message.properties.deliveryMode === 2,
        });
      },
      { noAck: true },
    );
    return collector;
  }

  about(userId: string): CollectedEvent[] {
    return this.events.filter((event) => JSON.stringify(event.data).includes(userId));
  }

  async waitFor(predicate: (events: CollectedEvent[]) => boolean, timeoutMs = 15_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!predicate(this.events)) {
      if (Date.now() > deadline) throw new Error(`events not received in time; have ${this.events.map((e) => e.pattern).join(', ')}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  async stop(): Promise<void> {
    await this.channel?.close().catch(() => undefined);
    await this.connection?.close().catch(() => undefined);
  }
}
