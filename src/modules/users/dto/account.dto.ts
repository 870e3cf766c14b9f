import { ApiProperty } from '@nestjs/swagger';

import { NewPasswordField, PasswordField } from '../../../core/http/validation.js';
import { PreferencesResponse } from '../../preferences/dto/preferences.dto.js';
import { UserResponse } from './user.response.js';

export class ChangePasswordDto {
  @ApiProperty({ minLength: 1 }) @PasswordField() currentPassword!: string;
  @NewPasswordField() newPassword!: string;
}

export class ExportedSession {
  @ApiProperty({ format: 'uuid' }) id!: string;
  @ApiProperty({ format: 'date-time' }) createdAt!: string;
  @ApiProperty({ format: 'date-time' }) lastUsedAt!: string;
  @ApiProperty({ format: 'date-time' }) expiresAt!: string;
  @ApiProperty({ type: String, format: 'date-time', nullable: true }) revokedAt!: string | null;
  @ApiProperty({ type: String, nullable: true, example: 'logout' }) revokedReason!: string | null;
  @ApiProperty({ type: String, nullable: true, example: '203.0.113.7' }) ip!: string | null;
  @ApiProperty({ type: String, nullable: true }) userAgent!: string | null;
}

export class ExportedAuditEntry {
  @ApiProperty({ format: 'uuid' }) id!: string;
  @ApiProperty({ enum: ['user', 'cli', 'system'], description: 'user: an admin; cli: an operator; system: the service (a suspension that ended)' })
  actorType!: string;
  @ApiProperty({ example: 'user.status_changed' }) action!: string;
  @ApiProperty({ type: String, nullable: true }) reason!: string | null;
  @ApiProperty({ type: 'object', additionalProperties: true, nullable: true, example: { status: 'active' } })
  before!: Record<string, unknown> | null;
  @ApiProperty({ type: 'object', additionalProperties: true, nullable: true, example: { status: 'suspended' } })
  after!: Record<string, unknown> | null;
  @ApiProperty({ format: 'date-time' }) createdAt!: string;
}

export class AccountExport {
  @ApiProperty({ format: 'date-time' }) exportedAt!: string;
  @ApiProperty({ type: UserResponse }) profile!: UserResponse;
  @ApiProperty({ type: PreferencesResponse }) preferences!: PreferencesResponse;
  @ApiProperty({ type: [ExportedSession], description: 'Active and ended sessions (ended ones are kept 30 days)' }) sessions!: ExportedSession[];
  @ApiProperty({ type: [ExportedAuditEntry], description: 'Administrative actions about you' }) auditEntries!: ExportedAuditEntry[];
}
