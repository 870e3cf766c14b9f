import { Injectable } from '@nestjs/common';
import { collectDefaultMetrics, Counter, Histogram, Registry } from 'prom-client';

export type LoginOutcome = 'success' | 'invalid_credentials' | 'locked_out' | 'account_blocked' | 'account_suspended' | 'account_deactivated';

/** One registry per app instance (tests boot several in one process). */
@Injectable()
export class MetricsService {
  readonly registry = new Registry();

  /** Its _count series is the request counter: a separate counter would double the cost per request. */
  private readonly duration = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'HTTP request latency by method, route and status',
    labelNames: ['method', 'route', 'status_code'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [this.registry],
  });

  private readonly logins = new Counter({
    name: 'auth_login_total',
    help: 'Login attempts by outcome',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry });
  }

  observeRequest(method: string, route: string, statusCode: number, seconds: number): void {
    this.duration.observe({ method, route, status_code: statusCode }, seconds);
  }

  countLogin(outcome: LoginOutcome): void {
    this.logins.inc({ outcome });
  }
}
