import type { AppConfig } from '../config/config.js';
import type { RequestContext } from '../logging/request-context.js';
import { type BrokerConnection, NO_DELAY } from './broker-connection.js';
import { ServiceQueueServer } from './service-queue-server.js';

/**
 * The server of the request/response queue. Other services declare the queue
 * as just { durable: true }; options must match theirs or RabbitMQ refuses
 * (406), which is why retries and dead letters are the application's, not
 * queue arguments.
 */
export function serviceQueueServer(
  config: AppConfig & { rabbitmqUrl: string },
  context: RequestContext,
  broker: BrokerConnection,
): ServiceQueueServer {
  return new ServiceQueueServer(
    {
      urls: [config.rabbitmqUrl],
      queue: config.messaging.serviceQueue,
      queueOptions: { durable: true },
      noAck: false,
      prefetchCount: config.messaging.prefetch,
      socketOptions: { heartbeatIntervalInSeconds: 5, reconnectTimeInSeconds: 2, connectionOptions: NO_DELAY },
    },
    config.messaging,
    context,
    (queue, content, options) => broker.sendToQueue(queue, content, options),
  );
}
