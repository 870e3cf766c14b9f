import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';

import type { AppConfig } from '../../core/config/config.js';
import { APP_CONFIG } from '../../core/config/config.module.js';
import { ApiKeysRepository } from './api-keys.repository.js';

/**
 * lastUsedAt without a write per request: each replica remembers when it last
 * saw each key used and writes them all in one UPDATE every
 * API_KEY_LAST_USED_FLUSH_SECONDS (and at shutdown). A failed write is kept
 * for the next one.
 */
@Injectable()
export class ApiKeyUsage implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('ApiKeys');
  private used = new Map<string, Date>();
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> | undefined;
  private stopped = false;

  constructor(
    private readonly keys: ApiKeysRepository,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  record(apiKeyId: string): void {
    this.used.set(apiKeyId, new Date());
  }

  onApplicationBootstrap(): void {
    this.stopped = false;
    this.schedule();
  }

  /** Before the database pool closes (that happens at application shutdown). */
  async onModuleDestroy(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.flushing;
    await this.flush();
  }

  /** Writes what was recorded since the last flush. */
  async flush(): Promise<void> {
    if (this.used.size === 0) return;
    const batch = this.used;
    this.used = new Map();
    try {
      await this.keys.recordLastUsed(batch);
    } catch (error) {
      // Uses recorded meanwhile are newer: they win.
      for (const [id, at] of batch) if (!this.used.has(id)) this.used.set(id, at);
      this.logger.warn(`cannot record when ${batch.size} API key(s) were last used, retrying: ${(error as Error).message}`);
    }
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.flushing = this.flush().finally(() => {
        this.flushing = undefined;
        this.schedule();
      });
    }, this.config.apiKeys.lastUsedFlushSeconds * 1000);
    this.timer.unref();
  }
}
