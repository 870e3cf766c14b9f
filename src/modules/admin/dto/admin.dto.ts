import { applyDecorators } from '@nestjs/common';
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { IsIn, IsInt, IsISO8601, IsOptional, IsString, IsUUID, Max, MaxLength, Min, MinLength, ValidateIf } from 'class-validator';

import { EmailField, MobileField, NameField, NewPasswordField } from '../../../core/http/validation.js';
import { AUDIT_ACTIONS } from '../../audit/audit.service.js';
import { MobileFieldDoc } from '../../users/dto/update-profile.dto.js';
import { USER_ROLES, USER_STATUSES, type UserRole, type UserStatus } from '../../users/user.entity.js';

export const SETTABLE_STATUSES = ['active', 'blocked', 'suspended'] as const;
export type SettableStatus = (typeof SETTABLE_STATUSES)[number];

const trimmed = () => Transform(({ value }) => (typeof value === 'string' ? value.trim() : value));

const ReasonField = (required: boolean) => {
  const doc = { minLength: 1, maxLength: 500, example: 'Chargeback fraud, ticket #4821', description: 'Why; kept in the audit log' };
  return applyDecorators(
    required ? ApiProperty(doc) : ApiPropertyOptional(doc),
    trimmed(),
    ...(required ? [] : [IsOptional()]),
    IsString(),
    MinLength(1, { message: 'must not be empty' }),
    MaxLength(500),
  );
};

/** `?limit=` (1..100, default 20) and `?cursor=` of every list. */
export class PageQuery {
  @ApiPropertyOptional({ type: 'integer', minimum: 1, maximum: 100, default: 20, example: 20 })
  @Transform(({ value }) => (typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : value))
  @IsOptional()
  @IsInt({ message: 'must be an integer from 1 to 100' })
  @Min(1, { message: 'must be an integer from 1 to 100' })
  @Max(100, { message: 'must be an integer from 1 to 100' })
  limit: number = 20;

  @ApiPropertyOptional({ description: 'nextCursor of the previous page (opaque; only valid with the same filters)', example: 'MjAyNi0xMS0yMlQwOTowMDowMC4wMDAwMDBafDNmMWMy.q2Vx4pQ7e1c' })
  @IsOptional()
  @IsString()
  @MinLength(1)
  @MaxLength(512)
  cursor?: string;
}

export class AdminUserQuery extends PageQuery {
  @ApiPropertyOptional({ enum: USER_STATUSES })
  @IsOptional()
  @IsIn(USER_STATUSES, { message: `must be one of ${USER_STATUSES.join(', ')}` })
  status?: UserStatus;

  @ApiPropertyOptional({ enum: USER_ROLES })
  @IsOptional()
  @IsIn(USER_ROLES, { message: `must be one of ${USER_ROLES.join(', ')}` })
  role?: UserRole;

  @ApiPropertyOptional({
    description: 'Case-insensitive prefix of the email, or of words of the name ("ada lov" finds Ada Lovelace)',
    minLength: 1,
    maxLength: 100,
    example: 'ada',
  })
  @trimmed()
  @IsOptional()
  @IsString()
  @MinLength(1, { message: 'must not be empty' })
  @MaxLength(100)
  q?: string;
}

export class AuditLogQuery extends PageQuery {
  @ApiPropertyOptional({ format: 'uuid', description: 'Entries made by this user' })
  @IsOptional()
  @IsUUID('all', { message: 'must be a UUID' })
  actorId?: string;

  @ApiPropertyOptional({ format: 'uuid', description: 'Entries about this user' })
  @IsOptional()
  @IsUUID('all', { message: 'must be a UUID' })
  targetId?: string;

  @ApiPropertyOptional({ enum: AUDIT_ACTIONS })
  @IsOptional()
  @IsIn(AUDIT_ACTIONS, { message: `must be one of ${AUDIT_ACTIONS.join(', ')}` })
  action?: string;
}

export class CreateUserDto {
  @EmailField() email!: string;
  @NewPasswordField() password!: string;
  @NameField() name!: string;

  @ApiProperty({ enum: USER_ROLES, example: 'user' })
  @IsIn(USER_ROLES, { message: `must be one of ${USER_ROLES.join(', ')}` })
  role!: UserRole;

  @MobileFieldDoc()
  @MobileField()
  @ValidateIf((_, value) => value !== undefined && value !== null)
  mobile?: string | null;
}

export class ChangeStatusDto {
  @ApiProperty({ enum: SETTABLE_STATUSES, example: 'suspended' })
  @IsIn(SETTABLE_STATUSES, { message: `must be one of ${SETTABLE_STATUSES.join(', ')}` })
  status!: SettableStatus;

  @ReasonField(true) reason!: string;

  @ApiPropertyOptional({
    format: 'date-time',
    example: '2027-06-30T00:00:00.000Z',
    description: 'Required with suspended (in the future, at most MAX_SUSPENSION_DAYS ahead); not allowed otherwise',
  })
  @IsOptional()
  @IsISO8601({ strict: true }, { message: 'must be an ISO-8601 date-time' })
  until?: string;
}

export class ChangeRoleDto {
  @ApiProperty({ enum: USER_ROLES, example: 'admin' })
  @IsIn(USER_ROLES, { message: `must be one of ${USER_ROLES.join(', ')}` })
  role!: UserRole;

  @ReasonField(false) reason?: string;
}
