import { Logger } from '@nestjs/common';
import { type MessageHandler, type OutgoingResponse, RmqContext, type RmqOptions, ServerRMQ } from '@nestjs/microservices';
import type { Channel, ConsumeMessage, Options } from 'amqplib';
import { lastValueFrom } from 'rxjs';

import type { AppConfig } from '../config/config.js';
import { ErrorCode } from '../errors/error-codes.js';
import { RpcErrorReply } from '../errors/rpc-error.filter.js';
import { acceptedCorrelationId, CORRELATION_HEADER } from '../logging/correlation-id.js';
import { serializeError } from '../logging/error-serializer.js';
import type { RequestContext } from '../logging/request-context.js';

/** Publishes a copy of a message to a queue and resolves once the broker has confirmed it. */
export type ForwardMessage = (queue: string, content: Buffer, options: Options.Publish) => Promise<void>;

type Messaging = AppConfig['messaging'];

export const ATTEMPT_HEADER = 'x-attempt';
const REASON_MAX_LENGTH = 500;
/** A forward the broker refused is tried again after this long, not in a hot loop. */
const FORWARD_FAILED_REQUEUE_MS = 1_000;

/** The delay before retry n (1-based): the configured delay, doubled for each further retry. */
export function retryDelays(messaging: Pick<Messaging, 'maxAttempts' | 'retryDelayMs'>): number[] {
  return Array.from({ length: messaging.maxAttempts - 1 }, (_, i) => messaging.retryDelayMs * 2 ** i);
}

/**
 * One durable queue per delay, whose TTL sends each message back to the
 * service queue: a message waits out its back-off in the broker, not in a
 * handler, and a single per-queue TTL never holds a short wait behind a long one.
 */
export const retryQueueName = (serviceQueue: string, delayMs: number) => `${serviceQueue}.retry.${delayMs}ms`;

/** Every queue this service declares besides the service queue itself. */
export function auxiliaryQueues(messaging: Messaging): string[] {
  return [messaging.deadLetterQueue, ...retryDelays(messaging).map((delay) => retryQueueName(messaging.serviceQueue, delay))];
}

interface Packet {
  pattern: unknown;
  data?: unknown;
  id?: string;
}

const isPacket = (value: unknown): value is Packet =>
  typeof value === 'object' && value !== null && !Array.isArray(value) && 'pattern' in value;

function positiveInteger(value: unknown): number | undefined {
  const number = typeof value === 'number' ? value : typeof value === 'string' ? Number(value) : NaN;
  return Number.isInteger(number) && number > 0 ? number : undefined;
}

function reasonOf(error: unknown): string {
  const { type, code, message } = serializeError(error);
  return `${type}${code === undefined ? '' : ` ${code}`}: ${message}`.slice(0, REASON_MAX_LENGTH);
}

/**
 * Nest's RMQ server for the service queue, with the discipline the contract
 * asks of a consumer: a message is acknowledged only once its handler has
 * finished; an AppError is answered (or, for an event, dead-lettered) at once;
 * any other failure is retried with back-off through the delay queues, then
 * answered with INTERNAL_ERROR and dead-lettered with the reason in its
 * headers; a message without a handler is dead-lettered too. Nothing is
 * dropped silently. Closing stops taking messages, lets those in hand finish
 * (for a bounded time) and only then closes the channel, which returns any
 * message still unacknowledged to the queue.
 *
 * Each message runs in the request context of its x-correlation-id header
 * (or a new id), so its log lines and the events it causes carry it.
 */
export class ServiceQueueServer extends ServerRMQ {
  protected override readonly logger = new Logger('Messages');
  private consumer: { channel: Channel; tag: string } | undefined;
  private closing = false;
  private channelErrorsHandled = false;
  private inHand = 0;
  private readonly drainWaiters = new Set<() => void>();

  constructor(
    options: Required<RmqOptions>['options'],
    private readonly messaging: Messaging,
    private readonly context: RequestContext,
    private readonly forward: ForwardMessage,
  ) {
    super(options);
  }

  /** Messages being handled right now (for shutdown and tests). */
  get messagesInHand(): number {
    return this.inHand;
  }

  override async setupChannel(channel: Channel, callback: () => void): Promise<void> {
    this.listenForChannelErrors();
    await channel.assertQueue(this.queue, this.queueOptions);
    await channel.assertQueue(this.messaging.deadLetterQueue, { durable: true });
    for (const delay of retryDelays(this.messaging)) {
      await channel.assertQueue(retryQueueName(this.queue, delay), {
        durable: true,
        arguments: { 'x-message-ttl': delay, 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': this.queue },
      });
    }
    await channel.prefetch(this.messaging.prefetch, false);
    // Also re-run after a reconnection: the consumer is set up again on the new channel.
    if (!this.closing) {
      const { consumerTag } = await channel.consume(this.queue, (message) => void this.handleMessage(message, channel), { noAck: false });
      this.consumer = { channel, tag: consumerTag };
    }
    callback();
  }

  /**
   * Nest's channel wrapper has no 'error' listener: a setup cut short by a
   * dropped connection ("Channel ended, no reply will be forthcoming") would
   * be an unhandled 'error' event, which ends the process. The wrapper runs
   * the setup again on the next connection by itself, so a warning is all it
   * takes. (The wrapper exists by the time its setup first runs.)
   */
  private listenForChannelErrors(): void {
    const wrapper = this.channel as { on?: (event: 'error', listener: (error: Error) => void) => void } | undefined;
    if (!wrapper?.on || this.channelErrorsHandled) return;
    this.channelErrorsHandled = true;
    wrapper.on('error', (error) => this.logger.warn(`RabbitMQ channel error: ${reasonOf(error)}`));
  }

  /**
   * A plain string pattern is its own route: looked up directly, because
   * Nest's lookup first tries JSON.parse on it, which throws (stack trace and
   * all) for every name such as "users.get" — about 5% of a message's CPU.
   */
  override getHandlerByPattern(pattern: string): MessageHandler | null {
    return this.messageHandlers.get(pattern) ?? super.getHandlerByPattern(pattern);
  }

  // Typed as Nest's base declares it: a ConsumeMessage, or null when the broker cancelled the consumer (queue deleted).
  override async handleMessage(delivered: object | null, channel: Channel): Promise<void> {
    if (!delivered) return;
    const message = delivered as unknown as ConsumeMessage;
    this.inHand += 1;
    try {
      await this.process(message, channel);
    } catch (error) {
      // Only settling itself can fail here (the channel closed): the broker redelivers the message.
      this.logger.warn(`a message could not be settled: ${reasonOf(error)}`);
    } finally {
      this.inHand -= 1;
      if (this.inHand === 0) for (const resolve of this.drainWaiters) resolve();
    }
  }

  private async process(message: ConsumeMessage, channel: Channel): Promise<void> {
    const { properties } = message;
    const headers = (properties.headers ?? {}) as Record<string, unknown>;
    const attempt = positiveInteger(headers[ATTEMPT_HEADER]) ?? 1;
    const correlationId = acceptedCorrelationId(headers[CORRELATION_HEADER]);
    const raw = parseJson(message.content);
    if (!isPacket(raw)) {
      return this.context.run(correlationId, () =>
        this.deadLetter(message, channel, 'not a Nest RMQ message: JSON { pattern, data } expected', undefined, attempt),
      );
    }
    const packet = (await this.deserializer.deserialize(raw, properties)) as Packet;
    const pattern = this.getPatternAsString(packet.pattern as string);
    const replyTo = packet.id !== undefined && typeof properties.replyTo === 'string' ? properties.replyTo : undefined;
    const context = new RmqContext([message, channel, pattern]);
    const reply = (answer: { response: unknown } | { err: RpcErrorReply }) => {
      if (replyTo) this.sendReply(channel, replyTo, properties.correlationId as string | undefined, { id: packet.id, ...answer, isDisposed: true });
    };

    await this.context.run(correlationId, async () => {
      const handler = this.getHandlerByPattern(pattern);
      if (!handler) {
        reply({ err: new RpcErrorReply(ErrorCode.NOT_FOUND, `No handler for the pattern "${pattern}".`) });
        return this.deadLetter(message, channel, `no handler for the pattern "${pattern}"`, pattern, attempt);
      }
      try {
        const response = await this.run(handler, packet.data, context);
        reply({ response });
        channel.ack(message);
      } catch (error) {
        if (error instanceof RpcErrorReply) {
          if (replyTo) {
            reply({ err: error });
            return channel.ack(message);
          }
          // An event nobody can be told about: kept, not dropped.
          return this.deadLetter(message, channel, `${error.code}: ${error.message}`, pattern, attempt, error.errors);
        }
        this.logger.error({ err: error, pattern, attempt }, 'message handler failed');
        if (attempt < this.messaging.maxAttempts) return this.retry(message, channel, attempt, reasonOf(error));
        reply({ err: RpcErrorReply.internal() });
        return this.deadLetter(message, channel, reasonOf(error), pattern, attempt);
      }
    });
  }

  /**
   * On the consuming channel itself, not through Nest's sendMessage: that one
   * publishes on the channel wrapper and drops the promise, which rejects
   * unhandled (and ends the process) when the connection drops before the
   * broker confirmed the reply. A reply that cannot be sent is lost like any
   * reply to a caller that went away: the caller's timeout covers it.
   */
  private sendReply(channel: Channel, replyTo: string, correlationId: string | undefined, message: object): void {
    const { options, ...body } = this.serializer.serialize(message as OutgoingResponse) as { options?: Options.Publish };
    try {
      channel.sendToQueue(replyTo, Buffer.from(JSON.stringify(body)), { correlationId, ...options });
    } catch (error) {
      this.logger.warn(`a reply could not be sent: ${reasonOf(error)}`);
    }
  }

  private async run(handler: MessageHandler, data: unknown, context: RmqContext): Promise<unknown> {
    return lastValueFrom(this.transformToObservable(await handler(data, context)), { defaultValue: undefined });
  }

  private async retry(message: ConsumeMessage, channel: Channel, attempt: number, reason: string): Promise<void> {
    const delay = retryDelays(this.messaging)[attempt - 1]!;
    const headers = {
      ...(message.properties.headers as Record<string, unknown> | undefined),
      [ATTEMPT_HEADER]: attempt + 1,
      'x-first-failed-at': message.properties.headers?.['x-first-failed-at'] ?? new Date().toISOString(),
      'x-last-error': reason,
    };
    await this.settleByForwarding(message, channel, retryQueueName(this.queue, delay), headers);
  }

  private async deadLetter(
    message: ConsumeMessage,
    channel: Channel,
    reason: string,
    pattern: string | undefined,
    attempts: number,
    errors?: RpcErrorReply['errors'],
  ): Promise<void> {
    this.logger.warn({ pattern, attempts, reason }, 'message dead-lettered');
    const headers = {
      ...(message.properties.headers as Record<string, unknown> | undefined),
      'x-death-reason': reason,
      'x-original-pattern': pattern ?? null,
      'x-original-queue': this.queue,
      'x-attempts': attempts,
      'x-first-failed-at': message.properties.headers?.['x-first-failed-at'] ?? new Date().toISOString(),
      'x-dead-lettered-at': new Date().toISOString(),
      ...(errors ? { 'x-field-errors': JSON.stringify(errors).slice(0, REASON_MAX_LENGTH) } : {}),
    };
    await this.settleByForwarding(message, channel, this.messaging.deadLetterQueue, headers);
  }

  /** The copy is confirmed by the broker before the original is acknowledged: at worst a message is seen twice, never lost. */
  private async settleByForwarding(message: ConsumeMessage, channel: Channel, queue: string, headers: Record<string, unknown>): Promise<void> {
    const { properties } = message;
    try {
      await this.forward(queue, message.content, {
        persistent: true,
        contentType: properties.contentType as string | undefined,
        messageId: properties.messageId as string | undefined,
        correlationId: properties.correlationId as string | undefined,
        replyTo: properties.replyTo as string | undefined,
        timestamp: properties.timestamp as number | undefined,
        headers,
      });
    } catch (error) {
      this.logger.warn(`a message could not be moved to ${queue} (${reasonOf(error)}); it goes back to the queue`);
      setTimeout(() => {
        try {
          channel.nack(message, false, true);
        } catch {
          // The channel is gone: the broker has requeued the message already.
        }
      }, FORWARD_FAILED_REQUEUE_MS).unref();
      return;
    }
    channel.ack(message);
  }

  override async close(): Promise<void> {
    this.closing = true;
    const consumer = this.consumer;
    this.consumer = undefined;
    if (consumer) await consumer.channel.cancel(consumer.tag).catch(() => undefined);
    await this.drained(this.messaging.shutdownGraceMs);
    if (this.inHand > 0) this.logger.warn(`${this.inHand} message(s) still in hand at shutdown; the broker redelivers them`);
    await super.close();
  }

  private drained(timeoutMs: number): Promise<void> {
    if (this.inHand === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.drainWaiters.delete(done);
        resolve();
      };
      const timer = setTimeout(done, timeoutMs);
      this.drainWaiters.add(done);
    });
  }
}

function parseJson(content: Buffer): unknown {
  try {
    return JSON.parse(content.toString());
  } catch {
    return undefined;
  }
}
