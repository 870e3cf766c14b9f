import { ApiProperty } from '@nestjs/swagger';

import { API_KEY_SCOPES, type ApiKeyScope } from '../../../core/auth/auth.decorators.js';
import type { ApiKey } from '../../api-keys/api-keys.service.js';
import { PageMeta } from './admin.response.js';

const iso = (date: Date | null) => date?.toISOString() ?? null;

/** A key in the admin list: never the key itself. */
export class ApiKeyResponse {
  @ApiProperty({ format: 'uuid', example: '6c1f3a9e-2b7d-4e5f-8a1c-0d9e8f7a6b5c' }) id!: string;
  @ApiProperty({ example: 'order-service (production)' }) name!: string;
  @ApiProperty({ enum: API_KEY_SCOPES, isArray: true, example: ['users:read'] }) scopes!: ApiKeyScope[];
  @ApiProperty({ example: 'usk_3k9x2m7q', description: 'The start of the key (not secret): how to tell keys apart in logs and configuration' })
  prefix!: string;
  @ApiProperty({ format: 'date-time', example: '2026-12-01T09:00:00.000Z' }) createdAt!: string;
  @ApiProperty({ type: String, format: 'uuid', nullable: true, example: '3f1c2a4e-8d5b-4b7a-9c1e-2f6d8a9b0c1d', description: 'The admin who created it; null for the CLI' })
  createdBy!: string | null;
  @ApiProperty({ type: String, format: 'date-time', nullable: true, example: null, description: 'null: never expires' }) expiresAt!: string | null;
  @ApiProperty({ type: String, format: 'date-time', nullable: true, example: null }) revokedAt!: string | null;
  @ApiProperty({
    type: String,
    format: 'date-time',
    nullable: true,
    example: '2026-12-03T11:59:00.000Z',
    description: 'Last accepted request (written every API_KEY_LAST_USED_FLUSH_SECONDS); null: never used',
  })
  lastUsedAt!: string | null;
}

export function toApiKeyResponse(key: ApiKey): ApiKeyResponse {
  return {
    id: key.id,
    name: key.name,
    scopes: key.scopes,
    prefix: key.prefix,
    createdAt: key.createdAt.toISOString(),
    createdBy: key.createdBy,
    expiresAt: iso(key.expiresAt),
    revokedAt: iso(key.revokedAt),
    lastUsedAt: iso(key.lastUsedAt),
  };
}

/** The answer to a creation: the only time the key is shown. */
export class CreatedApiKeyResponse {
  @ApiProperty({ format: 'uuid', example: '6c1f3a9e-2b7d-4e5f-8a1c-0d9e8f7a6b5c' }) id!: string;
  @ApiProperty({ example: 'order-service (production)' }) name!: string;
  @ApiProperty({ enum: API_KEY_SCOPES, isArray: true, example: ['users:read'] }) scopes!: ApiKeyScope[];
  @ApiProperty({ example: 'usk_3k9x2m7q' }) prefix!: string;
  @ApiProperty({ format: 'date-time', example: '2026-12-01T09:00:00.000Z' }) createdAt!: string;
  @ApiProperty({ type: String, format: 'date-time', nullable: true, example: '2027-12-31T00:00:00.000Z' }) expiresAt!: string | null;
  @ApiProperty({
    example: 'usk_3k9x2m7q_Jq3vX0bq9H1m4lC2yWZs8Tn5rKp6uE7aD0fG1hI2jK3',
    description: 'The whole key, for the X-API-Key header. Shown in this answer only: it is not stored and cannot be shown again.',
  })
  key!: string;
}

export function toCreatedApiKeyResponse(key: ApiKey, wholeKey: string): CreatedApiKeyResponse {
  return {
    id: key.id,
    name: key.name,
    scopes: key.scopes,
    prefix: key.prefix,
    createdAt: key.createdAt.toISOString(),
    expiresAt: iso(key.expiresAt),
    key: wholeKey,
  };
}

export class ApiKeyPage {
  @ApiProperty({ type: [ApiKeyResponse] }) data!: ApiKeyResponse[];
  @ApiProperty({ type: PageMeta }) meta!: PageMeta;
}
