import { type RmqOptions, RmqRecord, Transport } from '@nestjs/microservices';

import { CORRELATION_ID_HEADER, USER_EVENTS_EXCHANGE, USER_SERVICE_QUEUE } from './user-service.messages.js';

/**
 * Nagle off: a request is one small frame, and with Nagle on it can wait for
 * the broker's delayed ACK (tens of milliseconds per round trip).
 */
const NO_DELAY_SOCKET = { connectionOptions: { noDelay: true } };

/**
 * Options for ClientsModule.register: a ClientProxy that sends to the user
 * service's queue. The queue options must stay { durable: true }, as the
 * service declares it (RabbitMQ refuses a mismatch with 406).
 */
export function userServiceClientOptions(url: string, queue: string = USER_SERVICE_QUEUE): RmqOptions {
  return { transport: Transport.RMQ, options: { urls: [url], queue, queueOptions: { durable: true }, socketOptions: NO_DELAY_SOCKET } };
}

/**
 * Options for app.connectMicroservice in a service that listens to the user
 * service's events: its own durable queue, bound to the events exchange with
 * the pattern of each of its @EventPattern handlers (wildcards such as user.*
 * allowed). Nest acknowledges events as they arrive (noAck): handlers that
 * must not lose one on a crash should record the eventId before doing work,
 * or use a plain amqplib consumer with manual acks.
 */
export function userEventsSubscriberOptions(url: string, ownQueue: string, exchange: string = USER_EVENTS_EXCHANGE): RmqOptions {
  return {
    transport: Transport.RMQ,
    options: {
      urls: [url],
      queue: ownQueue,
      queueOptions: { durable: true },
      exchange,
      exchangeType: 'topic',
      wildcards: true,
      noAck: true,
      socketOptions: NO_DELAY_SOCKET,
    },
  };
}

/** A payload that also carries the caller's correlation id, for send() and emit(). */
export function withCorrelationId<T>(data: T, correlationId: string): RmqRecord<T> {
  return new RmqRecord(data, { headers: { [CORRELATION_ID_HEADER]: correlationId } });
}
