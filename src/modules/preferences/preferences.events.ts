import type { DomainEvent } from '../../core/messaging/domain-event.js';
import type { PreferencesResponse } from './dto/preferences.dto.js';

export const PreferencesEvents = {
  updated: (
    userId: string,
    preferences: PreferencesResponse,
  ): DomainEvent<'preferences.updated', { userId: string; preferences: PreferencesResponse }> => ({
    name: 'preferences.updated',
    userId,
    data: { userId, preferences },
  }),
};
