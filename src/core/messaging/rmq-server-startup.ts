import { BeforeApplicationShutdown, Injectable } from '@nestjs/common';

const SETTLE_LIMIT_MS = 3_000;
/** Ample for one broker round trip on a live connection. */
const CONSUME_SETTLE_MS = 300;

const delay = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms).unref());

/**
 * Nest's RMQ server sets its channel up after connecting, with no 'error'
 * listener on that channel, and reports itself started before its (not
 * awaited) basic.consume has been answered (ServerRMQ.setupChannel in
 * @nestjs/microservices 12). Closing the app inside either window throws an
 * unhandled error or rejection, so shutdown first lets the start settle, for
 * a bounded time: a broker that never answered leaves nothing in flight.
 */
@Injectable()
export class RmqServerStartup implements BeforeApplicationShutdown {
  private started: Promise<unknown> = Promise.resolve();
  private startedAt = 0;

  track(started: Promise<unknown>): void {
    this.started = started.then(
      () => (this.startedAt = Date.now()),
      () => undefined,
    );
  }

  async beforeApplicationShutdown(): Promise<void> {
    await Promise.race([this.started, delay(SETTLE_LIMIT_MS)]);
    const sinceStart = Date.now() - this.startedAt;
    if (this.startedAt && sinceStart < CONSUME_SETTLE_MS) await delay(CONSUME_SETTLE_MS - sinceStart);
  }
}
