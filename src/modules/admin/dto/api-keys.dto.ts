import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { ArrayMaxSize, ArrayMinSize, ArrayUnique, IsArray, IsIn, IsISO8601, IsOptional, IsString, MaxLength, MinLength } from 'class-validator';

import { API_KEY_SCOPES, type ApiKeyScope } from '../../../core/auth/auth.decorators.js';
import { PageQuery } from './admin.dto.js';

export class CreateApiKeyDto {
  @ApiProperty({ minLength: 1, maxLength: 100, example: 'order-service (production)', description: 'Who holds the key, for the list and the audit log' })
  @Transform(({ value }) => (typeof value === 'string' ? value.trim() : value))
  @IsString()
  @MinLength(1, { message: 'must not be empty' })
  @MaxLength(100)
  name!: string;

  @ApiProperty({ enum: API_KEY_SCOPES, isArray: true, minItems: 1, example: ['users:read'], description: 'What the key may do' })
  @IsArray({ message: `must be an array of scopes (${API_KEY_SCOPES.join(', ')})` })
  @ArrayMinSize(1, { message: 'must hold at least 1 scope' })
  @ArrayMaxSize(API_KEY_SCOPES.length)
  @ArrayUnique({ message: 'must not repeat a scope' })
  @IsIn(API_KEY_SCOPES, { each: true, message: `must hold only ${API_KEY_SCOPES.join(', ')}` })
  scopes!: ApiKeyScope[];

  @ApiPropertyOptional({
    format: 'date-time',
    example: '2027-12-31T00:00:00.000Z',
    description: 'When the key stops working (in the future); never, when left out',
  })
  @IsOptional()
  @IsISO8601({ strict: true }, { message: 'must be an ISO-8601 date-time' })
  expiresAt?: string;
}

export class ApiKeyListQuery extends PageQuery {}
