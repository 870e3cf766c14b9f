import { Inject, Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import amqp, { type AmqpConnectionManager, type ChannelWrapper, type Options } from 'amqp-connection-manager';
import type { ConfirmChannel } from 'amqplib';

import type { AppConfig } from '../config/config.js';
import { APP_CONFIG } from '../config/config.module.js';

/** A copy not confirmed by then is not counted on: its original goes back to the queue instead. */
const FORWARD_TIMEOUT_MS = 5_000;
/**
 * Socket options of every connection to RabbitMQ: Nagle's algorithm off. A
 * reply or an acknowledgement is a small frame written right after another;
 * with Nagle on, it waits for the peer's delayed ACK (up to 40 ms here), which
 * put a request/response round trip at about 100 ms instead of about 10 ms.
 */
export const NO_DELAY = { noDelay: true };

/**
 * The service's own long-lived RabbitMQ connection (reconnects by itself) and
 * a confirm channel for publishing; absent without RABBITMQ_URL.
 */
@Injectable()
export class BrokerConnection implements OnApplicationShutdown {
  private readonly logger = new Logger('Broker');
  readonly connection: AmqpConnectionManager | undefined;
  private readonly channel: ChannelWrapper | undefined;
  /** For copies of consumed messages (retries, dead letters): their bytes go on unchanged. */
  private readonly rawChannel: ChannelWrapper | undefined;

  constructor(@Inject(APP_CONFIG) config: AppConfig) {
    if (!config.rabbitmqUrl) return;
    this.connection = amqp.connect([config.rabbitmqUrl], { heartbeatIntervalInSeconds: 5, reconnectTimeInSeconds: 2, connectionOptions: NO_DELAY });
    this.connection.on('connect', () => this.logger.log('connected to RabbitMQ'));
    this.connection.on('disconnect', ({ err }) => this.logger.warn(`RabbitMQ connection lost: ${err?.message ?? 'closed'}`));
    this.connection.on('connectFailed', ({ err }) => this.logger.warn(`RabbitMQ unreachable: ${err?.message ?? 'unknown'}`));
    const exchange = config.messaging.eventsExchange;
    this.channel = this.connection.createChannel({
      json: true,
      confirm: true,
      setup: (channel: ConfirmChannel) => channel.assertExchange(exchange, 'topic', { durable: true }).then(() => undefined),
    });
    // Without a listener an 'error' (e.g. setup cut short by a dropped connection) would crash the process;
    // the wrapper re-runs setup on the next connection by itself.
    this.channel.on('error', (error: Error) => this.logger.warn(`RabbitMQ channel error: ${error.message}`));
    this.rawChannel = this.connection.createChannel({ json: false, confirm: true });
    this.rawChannel.on('error', (error: Error) => this.logger.warn(`RabbitMQ channel error: ${error.message}`));
  }

  get configured(): boolean {
    return this.connection !== undefined;
  }

  isConnected(): boolean {
    return this.connection?.isConnected() ?? false;
  }

  /** Resolves once the broker has confirmed the message (persistent), rejects on nack or timeout. */
  async publish(exchange: string, routingKey: string, message: object, options: Options.Publish): Promise<void> {
    if (!this.channel) throw new Error('no broker configured');
    await this.channel.publish(exchange, routingKey, message, {
      persistent: true,
      contentType: 'application/json',
      timestamp: Math.floor(Date.now() / 1000),
      ...options,
    });
  }

  /** Sends bytes as they are to a queue; resolves once the broker has confirmed them. */
  async sendToQueue(queue: string, content: Buffer, options: Options.Publish): Promise<void> {
    if (!this.rawChannel) throw new Error('no broker configured');
    await this.rawChannel.sendToQueue(queue, content, { ...options, timeout: FORWARD_TIMEOUT_MS });
  }

  async onApplicationShutdown(): Promise<void> {
    await this.rawChannel?.close().catch(() => undefined);
    await this.channel?.close().catch(() => undefined);
    await this.connection?.close();
  }
}
