import { ApiProperty } from '@nestjs/swagger';

import { toUserResponse, UserResponse } from '../../users/dto/user.response.js';
import { USER_ROLES, USER_STATUSES, type UserEntity } from '../../users/user.entity.js';
import type { AuditRecord } from '../../audit/audit.service.js';
import type { SessionEntity } from '../../sessions/session.entity.js';

/** A user as admins see it: the contract's fields plus why and until when its status holds. */
export class AdminUserResponse extends UserResponse {
  @ApiProperty({ type: String, nullable: true, example: null, description: 'Why the status was set (blocked, suspended)' })
  statusReason!: string | null;

  @ApiProperty({ type: String, format: 'date-time', nullable: true, example: null, description: 'When a suspension ends' })
  statusUntil!: string | null;
}

export function toAdminUserResponse(user: UserEntity): AdminUserResponse {
  return { ...toUserResponse(user), statusReason: user.statusReason, statusUntil: user.statusUntil?.toISOString() ?? null };
}

export class PageMeta {
  @ApiProperty({ example: 20 }) limit!: number;
  @ApiProperty({ type: String, nullable: true, description: 'Pass as ?cursor= for the next page; null on the last page', example: null })
  nextCursor!: string | null;
}

export class AdminUserPage {
  @ApiProperty({ type: [AdminUserResponse] }) data!: AdminUserResponse[];
  @ApiProperty({ type: PageMeta }) meta!: PageMeta;
}

export class AdminSessionResponse {
  @ApiProperty({ format: 'uuid' }) id!: string;
  @ApiProperty({ format: 'date-time' }) createdAt!: string;
  @ApiProperty({ format: 'date-time', description: 'Last sign-in or refresh' }) lastUsedAt!: string;
  @ApiProperty({ format: 'date-time', description: 'Absolute end of the session' }) expiresAt!: string;
  @ApiProperty({ type: String, nullable: true, example: '203.0.113.7' }) ip!: string | null;
  @ApiProperty({ type: String, nullable: true, example: 'Mozilla/5.0 (X11; Linux x86_64)' }) userAgent!: string | null;
}

export function toAdminSessionResponse(session: SessionEntity): AdminSessionResponse {
  return {
    id: session.id,
    createdAt: session.createdAt.toISOString(),
    lastUsedAt: session.lastUsedAt.toISOString(),
    expiresAt: session.expiresAt.toISOString(),
    ip: session.ip,
    userAgent: session.userAgent,
  };
}

const countsOf = (keys: readonly string[], example: number[]) => ({
  type: 'object' as const,
  properties: Object.fromEntries(keys.map((key, i) => [key, { type: 'integer' as const, example: example[i] }])),
  required: [...keys],
});

export class UserStatsResponse {
  @ApiProperty({ example: 1000000 }) total!: number;
  @ApiProperty({ ...countsOf(USER_STATUSES, [930000, 30000, 20000, 20000]), description: 'Every status, 0 included' })
  byStatus!: Record<string, number>;
  @ApiProperty({ ...countsOf(USER_ROLES, [999000, 1000]), description: 'Every role, 0 included' })
  byRole!: Record<string, number>;
  @ApiProperty({ example: 800000, description: 'Users whose email is verified' }) verified!: number;
  @ApiProperty({ example: 548 }) registeredLast24h!: number;
  @ApiProperty({ example: 3836 }) registeredLast7d!: number;
}

export class AuditEntryResponse {
  @ApiProperty({ format: 'uuid' }) id!: string;
  @ApiProperty({ enum: ['user', 'cli', 'system'], description: 'user: a signed-in admin (actorId); cli: an operator; system: the service itself' })
  actorType!: string;
  @ApiProperty({ type: String, format: 'uuid', nullable: true }) actorId!: string | null;
  @ApiProperty({ example: 'user.status_changed' }) action!: string;
  @ApiProperty({ type: String, format: 'uuid', nullable: true }) targetId!: string | null;
  @ApiProperty({ type: String, nullable: true, example: 'Chargeback fraud, ticket #4821' }) reason!: string | null;
  @ApiProperty({ type: String, nullable: true, example: '203.0.113.7' }) ip!: string | null;
  @ApiProperty({ type: String, nullable: true, example: 'Mozilla/5.0 (X11; Linux x86_64)' }) userAgent!: string | null;
  @ApiProperty({ type: String, nullable: true, example: '0f8fad5b-d9cb-469f-a165-70867728950e' }) correlationId!: string | null;
  @ApiProperty({ type: 'object', additionalProperties: true, nullable: true, example: { status: 'active', statusReason: null, statusUntil: null } })
  before!: Record<string, unknown> | null;
  @ApiProperty({ type: 'object', additionalProperties: true, nullable: true, example: { status: 'blocked', statusReason: 'Chargeback fraud', statusUntil: null } })
  after!: Record<string, unknown> | null;
  @ApiProperty({ format: 'date-time' }) createdAt!: string;
}

export const toAuditEntryResponse = (record: AuditRecord): AuditEntryResponse => ({ ...record });

export class AuditLogPage {
  @ApiProperty({ type: [AuditEntryResponse] }) data!: AuditEntryResponse[];
  @ApiProperty({ type: PageMeta }) meta!: PageMeta;
}
