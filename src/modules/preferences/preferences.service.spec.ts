import type { Keyv } from 'keyv';

import type { CacheService } from '../../core/cache/cache.service.js';
import type { EventPublisher } from '../../core/messaging/event-publisher.js';
import { DEFAULT_PREFERENCES, type UpdatePreferencesDto } from './dto/preferences.dto.js';
import type { PreferencesRepository } from './preferences.repository.js';
import { PreferencesService } from './preferences.service.js';
import { UserPreferencesEntity } from './user-preferences.entity.js';
import { rejectionOf } from '../../../test/utils/errors.js';
import { inMemoryCacheService } from '../../../test/utils/in-memory-cache.js';
import {
  fakeEventPublisher,
  type FakeEventPublisher,
  fakeTransactions,
  recordedEvents,
} from '../../../test/utils/unit-doubles.js';

const USER = '6f1c2b8e-0000-4000-8000-000000000001';
const KEY = `preferences:${USER}`;

function row(overrides: Partial<UserPreferencesEntity> = {}): UserPreferencesEntity {
  return Object.assign(new UserPreferencesEntity(), {
    userId: USER,
    ...DEFAULT_PREFERENCES,
    updatedAt: new Date('2026-01-01T00:00:00Z'),
    ...overrides,
  });
}

describe('PreferencesService', () => {
  let tx: ReturnType<typeof fakeTransactions>;
  let repository: { transaction: jest.Mock; findForUser: jest.Mock; upsert: jest.Mock };
  let cache: CacheService;
  let keyv: Keyv;
  let events: FakeEventPublisher & EventPublisher;
  let service: PreferencesService;

  beforeEach(() => {
    tx = fakeTransactions();
    repository = { transaction: tx.transaction, findForUser: jest.fn().mockResolvedValue(null), upsert: jest.fn().mockResolvedValue(null) };
    ({ cache, store: keyv } = inMemoryCacheService());
    events = fakeEventPublisher();
    service = new PreferencesService(repository as unknown as PreferencesRepository, cache, events);
  });

  afterEach(() => cache.onApplicationShutdown());

  describe('get', () => {
    it('answers the defaults until the user changed anything', async () => {
      await expect(service.get(USER)).resolves.toEqual(DEFAULT_PREFERENCES);
      expect(repository.findForUser).toHaveBeenCalledWith(USER);
    });

    it('answers the stored preferences, then serves them from the cache', async () => {
      repository.findForUser.mockResolvedValue(row({ language: 'fr', timezone: 'Europe/Paris' }));

      await expect(service.get(USER)).resolves.toMatchObject({ language: 'fr', timezone: 'Europe/Paris' });
      await expect(service.get(USER)).resolves.toMatchObject({ language: 'fr', timezone: 'Europe/Paris' });

      expect(repository.findForUser).toHaveBeenCalledTimes(1);
      await expect(keyv.get(KEY)).resolves.toMatchObject({ language: 'fr' });
    });
  });

  describe('find (preferences.get)', () => {
    it('answers null for no such user, and the defaults for a user who changed nothing', async () => {
      repository.findForUser.mockResolvedValueOnce(undefined);
      await expect(service.find(USER)).resolves.toBeNull();
      await expect(service.find('b2c6a1de-0000-4000-8000-000000000009')).resolves.toEqual(DEFAULT_PREFERENCES);
    });

    it('shares the cache entry of the HTTP read, whatever the case of the id', async () => {
      repository.findForUser.mockResolvedValue(row({ language: 'fr' }));
      await service.get(USER);
      await expect(service.find(USER.toUpperCase())).resolves.toMatchObject({ language: 'fr' });
      expect(repository.findForUser).toHaveBeenCalledTimes(1);
    });
  });

  describe('update', () => {
    it.each([
      ['an empty body', {}],
      ['only absent fields', { language: undefined, pushToken: undefined }],
    ])('answers the current preferences for %s, without a transaction or an event', async (_label, changes) => {
      repository.findForUser.mockResolvedValue(row({ marketingEmails: true }));

      await expect(service.update(USER, changes as UpdatePreferencesDto)).resolves.toEqual({
        ...DEFAULT_PREFERENCES,
        marketingEmails: true,
      });

      expect(tx.transaction).not.toHaveBeenCalled();
      expect(repository.upsert).not.toHaveBeenCalled();
      expect(events.record).not.toHaveBeenCalled();
    });

    it('upserts the changes and records preferences.updated in one transaction, then invalidates the cache', async () => {
      repository.findForUser.mockResolvedValue(row());
      await service.get(USER);
      await expect(keyv.get(KEY)).resolves.toBeDefined();
      const changes = { language: 'en-GB', pushToken: null };
      repository.upsert.mockResolvedValue(row({ language: 'en-GB' }));
      const invalidate = jest.spyOn(cache, 'invalidate');
      invalidate.mockImplementation(async (...keys) => {
        expect(tx.state).toMatchObject({ open: false, commits: 1 });
        await keyv.deleteMany(keys);
      });

      const updated = await service.update(USER, changes);

      expect(updated).toEqual({ ...DEFAULT_PREFERENCES, language: 'en-GB' });
      expect(repository.upsert).toHaveBeenCalledWith(tx.manager, USER, changes);
      expect(recordedEvents(events)).toEqual([
        { manager: tx.manager, event: { name: 'preferences.updated', userId: USER, data: { userId: USER, preferences: updated } } },
      ]);
      expect(invalidate).toHaveBeenCalledWith(KEY);
      await expect(keyv.get(KEY)).resolves.toBeUndefined();

      repository.findForUser.mockResolvedValue(row({ language: 'en-GB' }));
      await expect(service.get(USER)).resolves.toMatchObject({ language: 'en-GB' });
      expect(repository.findForUser).toHaveBeenCalledTimes(2);
    });

    it('answers 404 USER_NOT_FOUND when the user is gone, recording and invalidating nothing', async () => {
      const invalidate = jest.spyOn(cache, 'invalidate');

      const error = await rejectionOf(service.update(USER, { smsNotifications: true }));

      expect(error).toMatchObject({ code: 'USER_NOT_FOUND', status: 404 });
      expect(events.record).not.toHaveBeenCalled();
      expect(invalidate).not.toHaveBeenCalled();
      expect(tx.state.rollbacks).toBe(1);
    });

    it('leaves the cache alone when the event cannot be recorded (the change rolls back)', async () => {
      repository.upsert.mockResolvedValue(row({ smsNotifications: true }));
      events.record.mockRejectedValue(new Error('outbox insert failed'));
      const invalidate = jest.spyOn(cache, 'invalidate');

      await expect(service.update(USER, { smsNotifications: true })).rejects.toThrow('outbox insert failed');

      expect(tx.state.rollbacks).toBe(1);
      expect(invalidate).not.toHaveBeenCalled();
    });
  });
});
