import { ApiProperty } from '@nestjs/swagger';
import { ArrayMaxSize, ArrayMinSize, IsArray, IsUUID } from 'class-validator';

import { UserResponse } from './user.response.js';

export const LOOKUP_MAX = 100;

export class LookupUsersDto {
  @ApiProperty({
    type: [String],
    format: 'uuid',
    minItems: 1,
    maxItems: LOOKUP_MAX,
    description: 'The users to look up; unknown ids are left out of the answer',
    example: ['3f1c2a4e-8d5b-4b7a-9c1e-2f6d8a9b0c1d', '9b2e7c1a-4f3d-4e8b-a6c5-1d0f2e3a4b5c'],
  })
  @IsArray({ message: 'must be an array of UUIDs' })
  @ArrayMinSize(1, { message: 'must hold at least 1 id' })
  @ArrayMaxSize(LOOKUP_MAX, { message: `must hold at most ${LOOKUP_MAX} ids` })
  @IsUUID('all', { each: true, message: 'must hold UUIDs only' })
  ids!: string[];
}

export class UserLookupResponse {
  @ApiProperty({ type: [UserResponse], description: 'The users found, in the order of the ids asked for' })
  data!: UserResponse[];
}
