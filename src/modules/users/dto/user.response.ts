import { ApiProperty } from '@nestjs/swagger';

import { USER_ROLES, USER_STATUSES, type UserEntity, type UserRole, type UserStatus } from '../user.entity.js';

export class UserResponse {
  @ApiProperty({ format: 'uuid', example: '3f1c2a4e-8d5b-4b7a-9c1e-2f6d8a9b0c1d' }) id!: string;
  @ApiProperty({ format: 'email', example: 'ada@example.com' }) email!: string;
  @ApiProperty({ example: 'Ada Lovelace' }) name!: string;
  @ApiProperty({ type: String, nullable: true, example: '+447911123456', description: 'E.164 format; null when none was given' }) mobile!: string | null;
  @ApiProperty({ enum: USER_ROLES, example: 'user' }) role!: UserRole;
  @ApiProperty({ enum: USER_STATUSES, example: 'active' }) status!: UserStatus;
  @ApiProperty({ example: false }) emailVerified!: boolean;
  @ApiProperty({ format: 'date-time', example: '2026-11-22T09:00:00.000Z' }) createdAt!: string;
  @ApiProperty({ format: 'date-time', example: '2026-11-22T09:00:00.000Z' }) updatedAt!: string;
}

export function toUserResponse(user: UserEntity): UserResponse {
  return {
    id: user.id,
    email: user.email,
    name: user.name,
    mobile: user.mobile,
    role: user.role,
    status: user.status,
    emailVerified: user.emailVerified,
    createdAt: user.createdAt.toISOString(),
    updatedAt: user.updatedAt.toISOString(),
  };
}
