import { ApiProperty } from '@nestjs/swagger';
import { IsUUID } from 'class-validator';

import type { PreferencesGetRequest } from '../../../client-kit/user-service.messages.js';

/** preferences.get */
export class GetPreferencesMessage implements PreferencesGetRequest {
  @ApiProperty({ format: 'uuid', example: '3f1c2a4e-8d5b-4b7a-9c1e-2f6d8a9b0c1d' })
  @IsUUID('all', { message: 'must be a UUID' })
  userId!: string;
}
