import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';

import type { AppConfig } from '../../core/config/config.js';
import { APP_CONFIG } from '../../core/config/config.module.js';
import { UsersService } from './users.service.js';

/**
 * Lifts lapsed suspensions every SUSPENSION_SWEEP_SECONDS, so a suspended
 * user is active again (and user.status_changed goes out) without having to
 * sign in first. Replicas skip a pass another one is doing.
 */
@Injectable()
export class SuspensionSweep implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('SuspensionSweep');
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;

  constructor(
    private readonly users: UsersService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  onApplicationBootstrap(): void {
    this.timer = setInterval(() => void this.sweep(), this.config.admin.suspensionSweepSeconds * 1000);
    this.timer.unref();
  }

  async onApplicationShutdown(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
  }

  /** One pass; a pass still running is not started twice. */
  sweep(): Promise<void> {
    this.running ??= this.users
      .liftLapsedSuspensions()
      .then((lifted) => {
        if (lifted > 0) this.logger.log(`lifted ${lifted} lapsed suspension(s)`);
      })
      .catch((error: unknown) => this.logger.warn({ err: error }, 'lifting lapsed suspensions failed; retrying at the next pass'))
      .finally(() => (this.running = undefined));
    return this.running;
  }
}
