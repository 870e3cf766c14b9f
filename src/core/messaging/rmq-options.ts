import { type RmqOptions, Transport } from '@nestjs/microservices';

import type { AppConfig } from '../config/config.js';

/**
 * The request/response queue. Other services declare it as just
 * { durable: true }; options must match theirs or RabbitMQ refuses (406).
 */
export function rmqServerOptions(config: AppConfig & { rabbitmqUrl: string }): RmqOptions {
  return {
    transport: Transport.RMQ,
    options: {
      urls: [config.rabbitmqUrl],
      queue: config.messaging.serviceQueue,
      queueOptions: { durable: true },
      noAck: false,
      prefetchCount: 32,
    },
  };
}
