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
    return bcrypt.hash(prehash(password), this.cost);
  }

  /** Always does one full comparison, whether or not there is a hash to compare with. */
  async verify(password: string, hash: string | undefined): Promise<boolean> {
    const matches = await bcrypt.compare(prehash(password), hash ?? this.decoyHash);
    return matches && hash !== undefined;
  }

  needsRehash(hash: string): boolean {
    return bcrypt.getRounds(hash) !== this.cost;
  }
}
