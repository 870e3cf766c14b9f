import { Injectable } from '@nestjs/common';

import { CacheService } from '../../core/cache/cache.service.js';
import { AppError } from '../../core/errors/app-error.js';
import { ErrorCode } from '../../core/errors/error-codes.js';
import { EventPublisher } from '../../core/messaging/event-publisher.js';
import { DEFAULT_PREFERENCES, type PreferencesResponse, toPreferencesResponse, type UpdatePreferencesDto } from './dto/preferences.dto.js';
import { PreferencesEvents } from './preferences.events.js';
import { PreferencesRepository } from './preferences.repository.js';

const CACHE_TTL_MS = 60_000;
const cacheKey = (userId: string) => `preferences:${userId.toLowerCase()}`;

@Injectable()
export class PreferencesService {
  constructor(
    private readonly preferences: PreferencesRepository,
    private readonly cache: CacheService,
    private readonly events: EventPublisher,
  ) {}

  /** The user's preferences (defaults until first changed), or null for no such user; from the cache when it has them. */
  find(userId: string): Promise<PreferencesResponse | null> {
    return this.cache.read(cacheKey(userId), CACHE_TTL_MS, async () => {
      const row = await this.preferences.findForUser(userId);
      return row === undefined ? null : toPreferencesResponse(row);
    });
  }

  /** The signed-in user's preferences (defaults until first changed). */
  async get(userId: string): Promise<PreferencesResponse> {
    return (await this.find(userId)) ?? { ...DEFAULT_PREFERENCES };
  }

  async update(userId: string, changes: UpdatePreferencesDto): Promise<PreferencesResponse> {
    if (Object.values(changes).every((value) => value === undefined)) return this.get(userId);
    const updated = await this.preferences.transaction(async (manager) => {
      const row = await this.preferences.upsert(manager, userId, changes);
      if (!row) throw new AppError(ErrorCode.USER_NOT_FOUND, 404, 'No such user.');
      const preferences = toPreferencesResponse(row);
      await this.events.record(manager, PreferencesEvents.updated(userId, preferences));
      return preferences;
    });
    await this.cache.invalidate(cacheKey(userId));
    return updated;
  }
}
