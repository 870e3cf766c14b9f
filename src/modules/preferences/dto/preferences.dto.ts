import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { IsBoolean, IsString, MaxLength, MinLength, registerDecorator, ValidateIf } from 'class-validator';

import type { UserPreferencesEntity } from '../user-preferences.entity.js';

/**
 * IANA names only (Area/Location, or UTC): not offsets like +02:00, which
 * Intl also accepts. Intl.supportedValuesOf('timeZone') cannot be the list:
 * on Node 20 it holds the old names of renamed zones (Asia/Calcutta, not
 * Asia/Kolkata), while the formatter below knows both.
 */
const IANA_NAME = /^(?:UTC|GMT|[A-Z][A-Za-z]*(?:\/[A-Z][A-Za-z0-9_+-]*)+)$/;

export function isIanaTimeZone(value: unknown): boolean {
  if (typeof value !== 'string' || value.length > 64 || !IANA_NAME.test(value)) return false;
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: value });
    return true;
  } catch {
    return false;
  }
}

/** A well-formed BCP-47 language tag, canonicalized (en-us → en-US). */
export function canonicalLanguageTag(value: unknown): string | undefined {
  if (typeof value !== 'string' || value.length === 0 || value.length > 35) return undefined;
  try {
    return Intl.getCanonicalLocales(value)[0];
  } catch {
    return undefined;
  }
}

function Check(name: string, test: (value: unknown) => boolean, message: string): PropertyDecorator {
  return (target: object, propertyName: string | symbol) =>
    registerDecorator({ name, target: target.constructor, propertyName: String(propertyName), options: { message }, validator: { validate: test } });
}

export class PreferencesResponse {
  @ApiProperty({ example: true }) emailNotifications!: boolean;
  @ApiProperty({ example: true }) pushNotifications!: boolean;
  @ApiProperty({ example: false }) smsNotifications!: boolean;
  @ApiProperty({ example: false }) marketingEmails!: boolean;
  @ApiProperty({ example: 'en-GB', description: 'BCP-47 language tag' }) language!: string;
  @ApiProperty({ example: 'Europe/London', description: 'IANA time zone' }) timezone!: string;
  @ApiProperty({ type: String, nullable: true, example: null, description: 'Device push token' }) pushToken!: string | null;
}

export const DEFAULT_PREFERENCES: PreferencesResponse = {
  emailNotifications: true,
  pushNotifications: true,
  smsNotifications: false,
  marketingEmails: false,
  language: 'en',
  timezone: 'UTC',
  pushToken: null,
};

export function toPreferencesResponse(row: UserPreferencesEntity | null): PreferencesResponse {
  if (!row) return { ...DEFAULT_PREFERENCES };
  return {
    emailNotifications: row.emailNotifications,
    pushNotifications: row.pushNotifications,
    smsNotifications: row.smsNotifications,
    marketingEmails: row.marketingEmails,
    language: row.language,
    timezone: row.timezone,
    pushToken: row.pushToken,
  };
}

const present = (_: object, value: unknown) => value !== undefined;

/** Any subset of the preferences; absent fields stay as they are. */
export class UpdatePreferencesDto {
  @ApiPropertyOptional({ example: false }) @ValidateIf(present) @IsBoolean() emailNotifications?: boolean;
  @ApiPropertyOptional({ example: true }) @ValidateIf(present) @IsBoolean() pushNotifications?: boolean;
  @ApiPropertyOptional({ example: false }) @ValidateIf(present) @IsBoolean() smsNotifications?: boolean;
  @ApiPropertyOptional({ example: true }) @ValidateIf(present) @IsBoolean() marketingEmails?: boolean;

  @ApiPropertyOptional({ example: 'en-GB', description: 'BCP-47 language tag; stored canonicalized' })
  @ValidateIf(present)
  @Transform(({ value }) => canonicalLanguageTag(value) ?? value)
  @Check('isBcp47', (value) => canonicalLanguageTag(value) !== undefined, 'must be a BCP-47 language tag such as en or pt-BR')
  language?: string;

  @ApiPropertyOptional({ example: 'Europe/London', description: 'IANA time zone name' })
  @ValidateIf(present)
  @Check('isIanaTimeZone', isIanaTimeZone, 'must be an IANA time zone such as Europe/Paris')
  timezone?: string;

  @ApiPropertyOptional({ type: String, nullable: true, example: 'fcm:dXNlci1kZXZpY2UtdG9rZW4', description: 'null removes it' })
  @ValidateIf((_, value) => value !== undefined && value !== null)
  @IsString()
  @MinLength(1)
  @MaxLength(4096)
  pushToken?: string | null;
}
