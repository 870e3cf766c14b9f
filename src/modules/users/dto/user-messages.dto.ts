import { ApiProperty } from '@nestjs/swagger';
import { ArrayMaxSize, IsArray, IsUUID } from 'class-validator';

import type { UsersGetManyRequest, UsersGetRequest } from '../../../client-kit/user-service.messages.js';

export const GET_MANY_MAX = 100;

/** users.get */
export class GetUserMessage implements UsersGetRequest {
  @ApiProperty({ format: 'uuid', example: '3f1c2a4e-8d5b-4b7a-9c1e-2f6d8a9b0c1d' })
  @IsUUID('all', { message: 'must be a UUID' })
  id!: string;
}

/** users.get_many */
export class GetUsersMessage implements UsersGetManyRequest {
  @ApiProperty({ type: [String], format: 'uuid', maxItems: GET_MANY_MAX, example: ['3f1c2a4e-8d5b-4b7a-9c1e-2f6d8a9b0c1d'] })
  @IsArray({ message: 'must be an array of UUIDs' })
  @ArrayMaxSize(GET_MANY_MAX, { message: `must hold at most ${GET_MANY_MAX} ids` })
  @IsUUID('all', { each: true, message: 'must hold UUIDs only' })
  ids!: string[];
}
