import { ApiProperty } from '@nestjs/swagger';

import { USER_ROLES, USER_STATUSES, type UserRole, type UserStatus } from '../user.entity.js';
import { UserResponse } from './user.response.js';

// The data of the Users module's events beyond the envelope (the contract's
// table): the factories in users.events.ts return these, and /asyncapi.json
// documents them, so the two cannot drift apart.

const USER_ID = { format: 'uuid', example: '3f1c2a4e-8d5b-4b7a-9c1e-2f6d8a9b0c1d' } as const;

/** user.created */
export class UserCreatedData {
  @ApiProperty({ type: () => UserResponse, description: 'The user as GET /users/{id} shows it' }) user!: UserResponse;
}

/** user.updated */
export class UserUpdatedData {
  @ApiProperty({ type: () => UserResponse, description: 'The user after the change' }) user!: UserResponse;
  @ApiProperty({ type: [String], example: ['name', 'mobile'], description: 'The fields of `user` that changed' }) changed!: string[];
}

/** user.deleted */
export class UserDeletedData {
  @ApiProperty(USER_ID) userId!: string;
}

/** user.status_changed */
export class UserStatusChangedData {
  @ApiProperty(USER_ID) userId!: string;
  @ApiProperty({ enum: USER_STATUSES, example: 'suspended' }) status!: UserStatus;
  @ApiProperty({ type: String, nullable: true, example: 'chargeback under review', description: 'Why, as the admin gave it' })
  reason!: string | null;
  @ApiProperty({
    type: String,
    format: 'date-time',
    nullable: true,
    example: '2026-12-01T00:00:00.000Z',
    description: 'When a suspension ends; null otherwise',
  })
  until!: string | null;
}

/** user.role_changed */
export class UserRoleChangedData {
  @ApiProperty(USER_ID) userId!: string;
  @ApiProperty({ enum: USER_ROLES, example: 'admin' }) role!: UserRole;
}

/** user.password_changed */
export class UserPasswordChangedData {
  @ApiProperty(USER_ID) userId!: string;
}
