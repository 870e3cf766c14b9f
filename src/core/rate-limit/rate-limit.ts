import { applyDecorators, Injectable, Logger, OnApplicationShutdown, SetMetadata, UseGuards } from '@nestjs/common';
import { ApiHeader, ApiTooManyRequestsResponse } from '@nestjs/swagger';
import {
  ThrottlerGuard,
  type ThrottlerLimitDetail,
  type ThrottlerRequest,
  ThrottlerStorage,
  ThrottlerStorageService,
} from '@nestjs/throttler';
import type { ThrottlerStorageRecord } from '@nestjs/throttler/dist/throttler-storage-record.interface.js';
import type { ExecutionContext } from '@nestjs/common';
import { ThrottlerStorageRedisService } from '@nest-lab/throttler-storage-redis';

import { AppError } from '../errors/app-error.js';
import { ErrorCode } from '../errors/error-codes.js';
import { ProblemDetails } from '../errors/problem-details.js';

/** Which named throttlers (configured in RateLimitModule) guard a route. */
export const RATE_LIMITED_BY = 'rate-limit:throttlers';

/** Throttles a route by the named limits and documents the 429. */
export function RateLimit(...throttlers: string[]) {
  return applyDecorators(
    SetMetadata(RATE_LIMITED_BY, throttlers),
    UseGuards(RateLimitGuard),
    ApiTooManyRequestsResponse({
      description: 'Too many requests (RATE_LIMITED); the Retry-After header says how many seconds to wait.',
      type: ProblemDetails,
      headers: { 'Retry-After': { description: 'Seconds to wait', schema: { type: 'integer', example: 30 } } },
    }),
  );
}

export const ApiIdempotencyKey = () =>
  ApiHeader({
    name: 'Idempotency-Key',
    required: false,
    description:
      'Optional. A repeat with the same key and body within 24 h replays the first response; the same key with another body is 409 IDEMPOTENCY_KEY_REUSED.',
  });

@Injectable()
export class RateLimitGuard extends ThrottlerGuard {
  protected override async handleRequest(request: ThrottlerRequest): Promise<boolean> {
    const throttlers = this.reflector.get<string[] | undefined>(RATE_LIMITED_BY, request.context.getHandler());
    if (!throttlers?.includes(request.throttler.name ?? '')) return true;
    return super.handleRequest(request);
  }

  protected override async throwThrottlingException(_context: ExecutionContext, detail: ThrottlerLimitDetail): Promise<void> {
    throw new AppError(
      ErrorCode.RATE_LIMITED,
      429,
      'Too many requests; try again later.',
      undefined,
      Math.max(1, detail.timeToBlockExpire),
    );
  }
}

/**
 * Redis keeps one limit for all replicas; while Redis is unreachable each
 * replica limits on its own rather than failing the request.
 */
export class FailoverThrottlerStorage implements ThrottlerStorage, OnApplicationShutdown {
  private readonly logger = new Logger('RateLimit');
  private readonly local = new ThrottlerStorageService();

  constructor(private readonly shared: ThrottlerStorageRedisService) {
    // Reported by increment() when it matters; without a listener ioredis prints every reconnect attempt.
    shared.redis.on('error', () => undefined);
  }

  async increment(
    key: string,
    ttl: number,
    limit: number,
    blockDuration: number,
    throttlerName: string,
  ): Promise<ThrottlerStorageRecord> {
    try {
      return await this.shared.increment(key, ttl, limit, blockDuration, throttlerName);
    } catch (error) {
      this.logger.warn(`shared rate limit unavailable, limiting locally: ${(error as Error).message}`);
      return this.local.increment(key, ttl, limit, blockDuration, throttlerName);
    }
  }

  onApplicationShutdown(): void {
    this.local.onApplicationShutdown();
    this.shared.onModuleDestroy();
  }
}
