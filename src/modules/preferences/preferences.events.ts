import type { DomainEvent } from '../../core/messaging/domain-event.js';
import type { PreferencesUpdatedData } from './dto/preferences-events.dto.js';
import type { PreferencesResponse } from './dto/preferences.dto.js';

export const PreferencesEvents = {
  updated: (userId: string, preferences: PreferencesResponse): DomainEvent<'preferences.updated', PreferencesUpdatedData> => ({
    name: 'preferences.updated',
    userId,
    data: { userId, preferences },
  }),
};
