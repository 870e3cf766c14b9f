import { createHash, randomBytes } from 'node:crypto';

import { Inject, Injectable, OnModuleInit } from '@nestjs/common';
import bcrypt from 'bcrypt';

import type { AppConfig } from '../config/config.js';
import { APP_CONFIG } from '../config/config.module.js';

/**
 * bcrypt reads only the first 72 bytes of its input, and the policy allows
 * 128 characters (up to 512 bytes): passwords are reduced to a fixed-length
 * SHA-256 digest first, so every byte counts. Base64 has no NUL bytes, which
 * bcrypt would also stop at.
 */
function prehash(password: string): string {
  return createHash('sha256').update(password, 'utf8').digest('base64');
}

/** libuv's thread pool, which also does file writes (the logs) and DNS lookups. */
export const threadPoolSize = () => Number(process.env.UV_THREADPOOL_SIZE) || 4;

/**
 * bcrypt on libuv's thread pool (the native binding is asynchronous), so
 * hashing never blocks the event loop. At most all threads but one hash at
 * once; the others wait their turn here. In a login storm every thread was
 * hashing, and log writes queued behind the hashes for seconds, holding their
 * buffers in memory.
 */
@Injectable()
export class PasswordHasher implements OnModuleInit {
  private readonly cost: number;
  /** Compared against when an email is unknown, so that answer costs what a wrong password costs. */
  private decoyHash = '';
  private readonly maxConcurrent = Math.max(1, threadPoolSize() - 1);
  private running = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(@Inject(APP_CONFIG) config: AppConfig) {
    this.cost = config.bcryptCost;
  }

  async onModuleInit(): Promise<void> {
    this.decoyHash = await bcrypt.hash(randomBytes(16).toString('hex'), this.cost);
  }

  hash(password: string): Promise<string> {
    return this.inTurn(() => bcrypt.hash(prehash(password), this.cost));
  }

  /** Always does one full comparison, whether or not there is a hash to compare with. */
  async verify(password: string, hash: string | undefined): Promise<boolean> {
    const matches = await this.inTurn(() => bcrypt.compare(prehash(password), hash ?? this.decoyHash));
    return matches && hash !== undefined;
  }

  private async inTurn<T>(work: () => Promise<T>): Promise<T> {
    if (this.running >= this.maxConcurrent) await new Promise<void>((resolve) => this.waiting.push(resolve));
    else this.running += 1;
    try {
      return await work();
    } finally {
      // The slot passes straight to the next in line, if any.
      const next = this.waiting.shift();
      if (next) next();
      else this.running -= 1;
    }
  }

  needsRehash(hash: string): boolean {
    return bcrypt.getRounds(hash) !== this.cost;
  }
}
