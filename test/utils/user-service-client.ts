import { type ClientProxy, ClientProxyFactory } from '@nestjs/microservices';
import { lastValueFrom, timeout } from 'rxjs';

import { userServiceClientOptions } from '../../src/client-kit/user-service.client.js';
import type { UserServiceRpcError } from '../../src/client-kit/user-service.messages.js';

/** A real Nest ClientProxy for the user service's queue, built from the client kit as another service would. */
export class UserServiceClient {
  private constructor(readonly proxy: ClientProxy) {}

  static async connect(url: string, queue: string): Promise<UserServiceClient> {
    const proxy = ClientProxyFactory.create(userServiceClientOptions(url, queue));
    await proxy.connect();
    return new UserServiceClient(proxy);
  }

  send<Reply>(pattern: string, data: unknown, timeoutMs = 10_000): Promise<Reply> {
    return lastValueFrom(this.proxy.send<Reply>(pattern, data).pipe(timeout(timeoutMs)));
  }

  /** The error a send() fails with (the test fails if it answers instead). */
  async failureOf(pattern: string, data: unknown, timeoutMs = 10_000): Promise<UserServiceRpcError> {
    try {
      const reply = await this.send(pattern, data, timeoutMs);
      throw new Error(`expected ${pattern} to fail, it answered ${JSON.stringify(reply)}`);
    } catch (error) {
      if (error instanceof Error && error.message.startsWith('expected ')) throw error;
      return error as UserServiceRpcError;
    }
  }

  emit(pattern: string, data: unknown): Promise<unknown> {
    return lastValueFrom(this.proxy.emit(pattern, data), { defaultValue: undefined });
  }

  close(): Promise<void> {
    return this.proxy.close();
  }
}
