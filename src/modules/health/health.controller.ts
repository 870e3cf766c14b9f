import { Controller, Get, Inject } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiServiceUnavailableResponse, ApiTags } from '@nestjs/swagger';
import {
  HealthCheck,
  HealthCheckService,
  type HealthIndicatorFunction,
  HealthIndicatorService,
} from '@nestjs/terminus';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';

import { Public } from '../../core/auth/auth.decorators.js';
import { STRICT_STORE, type StrictStore } from '../../core/cache/cache.tokens.js';
import type { AppConfig } from '../../core/config/config.js';
import { APP_CONFIG } from '../../core/config/config.module.js';
import { BrokerConnection } from '../../core/messaging/broker-connection.js';

const DATABASE_TIMEOUT_MS = 2_000;

const example = (status: string, info: object, error: object) => ({ status, info, error, details: { ...info, ...error } });

@ApiTags('Health')
@Public()
@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly indicators: HealthIndicatorService,
    private readonly broker: BrokerConnection,
    @Inject(STRICT_STORE) private readonly store: StrictStore,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  @Get('live')
  @ApiOperation({ summary: 'Liveness: 200 while the process serves' })
  @ApiOkResponse({ schema: { example: { status: 'ok' } } })
  live(): { status: 'ok' } {
    return { status: 'ok' };
  }

  @Get('ready')
  @HealthCheck()
  @ApiOperation({ summary: 'Readiness: 200 when every configured dependency answers (database, cache, broker)' })
  @ApiOkResponse({ schema: { example: example('ok', { database: { status: 'up' }, cache: { status: 'up' } }, {}) } })
  @ApiServiceUnavailableResponse({
    description: 'A dependency is down; the body names it',
    schema: { example: example('error', { database: { status: 'up' } }, { cache: { status: 'down', message: 'unreachable' } }) },
  })
  ready() {
    const checks: HealthIndicatorFunction[] = [() => this.checkDatabase()];
    if (this.config.redisUrl) checks.push(() => this.checkCache());
    if (this.broker.configured) checks.push(async () => this.checkBroker());
    return this.health.check(checks);
  }

  /** SELECT 1 within the timeout; down says only that (terminus's own check put the driver's socket error text in the body). */
  private async checkDatabase() {
    const indicator = this.indicators.check('database');
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error('timeout')), DATABASE_TIMEOUT_MS);
    });
    try {
      await Promise.race([this.dataSource.query('SELECT 1'), timeout]);
      return indicator.up();
    } catch (error) {
      return indicator.down({ message: (error as Error).message === 'timeout' ? 'no answer in time' : 'unreachable' });
    } finally {
      clearTimeout(timer);
    }
  }

  private async checkCache() {
    const indicator = this.indicators.check('cache');
    try {
      await this.store.get('health-probe');
      return indicator.up();
    } catch {
      return indicator.down({ message: 'unreachable' });
    }
  }

  private checkBroker() {
    const indicator = this.indicators.check('broker');
    return this.broker.isConnected() ? indicator.up() : indicator.down({ message: 'not connected' });
  }
}
