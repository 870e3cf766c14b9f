import { randomBytes } from 'node:crypto';

import { Inject, Injectable, OnModuleInit } from '@nestjs/common';
import bcrypt from 'bcrypt';

import type { AppConfig } from '../config/config.js';
import { APP_CONFIG } from '../config/config.module.js';

/**
 * bcrypt on libuv's thread pool (the native binding is asynchronous), so
 * hashing never blocks the event loop.
 */
@Injectable()
export class PasswordHasher implements OnModuleInit {
  private readonly cost: number;
  /** Compared against when an email is unknown, so that answer costs what a wrong password costs. */
  private decoyHash = '';

  constructor(@Inject(APP_CONFIG) config: AppConfig) {
    this.cost = config.bcryptCost;
  }

  async onModuleInit(): Promise<void> {
    this.decoyHash = await bcrypt.hash(randomBytes(16).toString('hex'), this.cost);
  }

  hash(password: string): Promise<string> {
    return bcrypt.hash(password, this.cost);
  }

  /** Always does one full comparison, whether or not there is a hash to compare with. */
  async verify(password: string, hash: string | undefined): Promise<boolean> {
    const matches = await bcrypt.compare(password, hash ?? this.decoyHash);
    return matches && hash !== undefined;
  }

  needsRehash(hash: string): boolean {
    return bcrypt.getRounds(hash) !== this.cost;
  }
}
