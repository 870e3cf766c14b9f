import { createValidationPipe } from '../../../core/http/validation.js';
import { canonicalLanguageTag, DEFAULT_PREFERENCES, toPreferencesResponse, UpdatePreferencesDto } from './preferences.dto.js';
import { UserPreferencesEntity } from '../user-preferences.entity.js';
import { rejectionOf } from '../../../../test/utils/errors.js';

const pipe = createValidationPipe();
const validate = (body: unknown): Promise<UpdatePreferencesDto> =>
  pipe.transform(body, { type: 'body', metatype: UpdatePreferencesDto }) as Promise<UpdatePreferencesDto>;

async function fieldErrors(body: unknown) {
  const error = await rejectionOf(validate(body));
  expect(error).toMatchObject({ code: 'VALIDATION_FAILED', status: 400 });
  return error.errors;
}

describe('UpdatePreferencesDto through the global validation pipe', () => {
  it('accepts an empty body, leaving every field absent', async () => {
    const dto = await validate({});

    expect(dto).toBeInstanceOf(UpdatePreferencesDto);
    expect(Object.values(dto).every((value) => value === undefined)).toBe(true);
  });

  it('accepts every field at once', async () => {
    const body = {
      emailNotifications: false,
      pushNotifications: true,
      smsNotifications: true,
      marketingEmails: false,
      language: 'pt-BR',
      timezone: 'America/Sao_Paulo',
      pushToken: 'fcm:dXNlci1kZXZpY2UtdG9rZW4',
    };

    await expect(validate(body)).resolves.toEqual(body);
  });

  describe('language', () => {
    it('refuses a tag that is not BCP-47', async () => {
      await expect(fieldErrors({ language: 'english!' })).resolves.toEqual([
        { field: 'language', message: 'must be a BCP-47 language tag such as en or pt-BR' },
      ]);
    });

    it.each(['en_US', '', 'a', 'x'.repeat(36)])('refuses %j', async (language) => {
      await expect(fieldErrors({ language })).resolves.toEqual([expect.objectContaining({ field: 'language' })]);
    });

    it.each([null, 42, true, ['en']])('refuses a non-string %j', async (language) => {
      await expect(fieldErrors({ language })).resolves.toEqual([expect.objectContaining({ field: 'language' })]);
    });

    it.each([
      ['en-us', 'en-US'],
      ['EN', 'en'],
      ['zh-hant-tw', 'zh-Hant-TW'],
      ['pt-BR', 'pt-BR'],
    ])('stores %j canonicalized as %j', async (given, stored) => {
      await expect(validate({ language: given })).resolves.toEqual({ language: stored });
    });
  });

  describe('timezone', () => {
    it('refuses a name that is not an IANA time zone', async () => {
      await expect(fieldErrors({ timezone: 'Mars/Olympus' })).resolves.toEqual([
        { field: 'timezone', message: 'must be an IANA time zone such as Europe/Paris' },
      ]);
    });

    it.each(['europe/paris', '+02:00', '', null, 1])('refuses %j', async (timezone) => {
      await expect(fieldErrors({ timezone })).resolves.toEqual([expect.objectContaining({ field: 'timezone' })]);
    });

    it.each(['Europe/Paris', 'UTC', 'Etc/UTC', 'America/New_York', 'Asia/Tokyo'])('accepts %s', async (timezone) => {
      await expect(validate({ timezone })).resolves.toEqual({ timezone });
    });

    // Node 20's Intl.supportedValuesOf('timeZone') lists only the old names of renamed zones.
    it.each(['Asia/Kolkata', 'Europe/Kyiv', 'Asia/Ho_Chi_Minh', 'America/Argentina/Buenos_Aires', 'America/Port-au-Prince', 'Etc/GMT+5'])(
      'accepts the current IANA name %s',
      async (timezone) => {
        await expect(validate({ timezone })).resolves.toEqual({ timezone });
      },
    );
  });

  describe('notification flags', () => {
    it.each(['emailNotifications', 'pushNotifications', 'smsNotifications', 'marketingEmails'])(
      'refuses a non-boolean %s',
      async (field) => {
        for (const value of ['true', 1, 0, null, 'yes']) {
          await expect(fieldErrors({ [field]: value })).resolves.toEqual([{ field, message: 'must be a boolean value' }]);
        }
      },
    );

    it('accepts booleans as they are', async () => {
      await expect(validate({ emailNotifications: false, marketingEmails: true })).resolves.toEqual({
        emailNotifications: false,
        marketingEmails: true,
      });
    });
  });

  describe('pushToken', () => {
    it('allows null, which removes the token', async () => {
      await expect(validate({ pushToken: null })).resolves.toEqual({ pushToken: null });
    });

    it.each([
      ['an empty string', ''],
      ['a number', 12345],
      ['a token over 4096 characters', 'x'.repeat(4097)],
    ])('refuses %s', async (_label, pushToken) => {
      await expect(fieldErrors({ pushToken })).resolves.toEqual([expect.objectContaining({ field: 'pushToken' })]);
    });

    it('accepts a token of 4096 characters', async () => {
      await expect(validate({ pushToken: 'x'.repeat(4096) })).resolves.toEqual({ pushToken: 'x'.repeat(4096) });
    });
  });

  it('refuses an unknown field', async () => {
    await expect(fieldErrors({ theme: 'dark' })).resolves.toEqual([{ field: 'theme', message: 'is not allowed' }]);
  });

  it('refuses fields that only the server sets', async () => {
    const errors = await fieldErrors({ userId: 'someone-else', updatedAt: '2026-01-01T00:00:00Z' });

    expect(errors?.map((e) => e.field).sort()).toEqual(['updatedAt', 'userId']);
  });

  it('names every bad field at once', async () => {
    const errors = await fieldErrors({ language: 'english!', timezone: 'Mars/Olympus', smsNotifications: 'no' });

    expect(errors?.map((e) => e.field).sort()).toEqual(['language', 'smsNotifications', 'timezone']);
  });
});

describe('canonicalLanguageTag', () => {
  it('canonicalizes well-formed tags and rejects the rest', () => {
    expect(canonicalLanguageTag('en-us')).toBe('en-US');
    expect(canonicalLanguageTag('english!')).toBeUndefined();
    expect(canonicalLanguageTag(undefined)).toBeUndefined();
    expect(canonicalLanguageTag('a'.repeat(36))).toBeUndefined();
  });
});

describe('toPreferencesResponse', () => {
  it('answers the defaults (a copy) until the user has a row', () => {
    const response = toPreferencesResponse(null);

    expect(response).toEqual({
      emailNotifications: true,
      pushNotifications: true,
      smsNotifications: false,
      marketingEmails: false,
      language: 'en',
      timezone: 'UTC',
      pushToken: null,
    });
    expect(response).not.toBe(DEFAULT_PREFERENCES);
  });

  it('maps a row without its user id or timestamps', () => {
    const row = Object.assign(new UserPreferencesEntity(), {
      userId: 'u1',
      emailNotifications: false,
      pushNotifications: false,
      smsNotifications: true,
      marketingEmails: true,
      language: 'fr',
      timezone: 'Europe/Paris',
      pushToken: 'tok',
      updatedAt: new Date(),
    });

    expect(toPreferencesResponse(row)).toEqual({
      emailNotifications: false,
      pushNotifications: false,
      smsNotifications: true,
      marketingEmails: true,
      language: 'fr',
      timezone: 'Europe/Paris',
      pushToken: 'tok',
    });
  });
});
