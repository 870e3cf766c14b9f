import { AsyncLocalStorage } from 'node:async_hooks';

/**
 * The correlation id of the request being handled, for everything that runs
 * on its behalf (its log lines, the events it records). Entered once per
 * request in a Fastify hook (app.ts), not by a Nest guard or interceptor,
 * which would add a layer to every route.
 */
export class RequestContext {
  private readonly storage = new AsyncLocalStorage<string>();

  run<T>(correlationId: string, work: () => T): T {
    return this.storage.run(correlationId, work);
  }

  correlationId(): string | undefined {
    return this.storage.getStore();
  }
}
