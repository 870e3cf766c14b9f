import { Inject, Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import amqp, { type AmqpConnectionManager } from 'amqp-connection-manager';

import type { AppConfig } from '../config/config.js';
import { APP_CONFIG } from '../config/config.module.js';

/** The service's own long-lived RabbitMQ connection (reconnects by itself); absent without RABBITMQ_URL. */
@Injectable()
export class BrokerConnection implements OnApplicationShutdown {
  private readonly logger = new Logger('Broker');
  readonly connection: AmqpConnectionManager | undefined;

  constructor(@Inject(APP_CONFIG) config: AppConfig) {
    if (!config.rabbitmqUrl) return;
    this.connection = amqp.connect([config.rabbitmqUrl], { heartbeatIntervalInSeconds: 5, reconnectTimeInSeconds: 2 });
    this.connection.on('connect', () => this.logger.log('connected to RabbitMQ'));
    this.connection.on('disconnect', ({ err }) => this.logger.warn(`RabbitMQ connection lost: ${err?.message ?? 'closed'}`));
  }

  get configured(): boolean {
    return this.connection !== undefined;
  }

  isConnected(): boolean {
    return this.connection?.isConnected() ?? false;
  }

  async onApplicationShutdown(): Promise<void> {
    await this.connection?.close();
  }
}
