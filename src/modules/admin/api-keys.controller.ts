import { Body, Controller, Delete, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiCreatedResponse,
  ApiNoContentResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiParam,
  ApiTags,
} from '@nestjs/swagger';

import { Authenticated } from '../../core/auth/auth.decorators.js';
import { ProblemDetails } from '../../core/errors/problem-details.js';
import { UuidParam } from '../../core/http/validation.js';
import type { AuditActor } from '../audit/audit.service.js';
import { Actor } from './actor.decorator.js';
import { AdminApiKeysService } from './admin-api-keys.service.js';
import { ApiKeyListQuery, CreateApiKeyDto } from './dto/api-keys.dto.js';
import { ApiKeyPage, CreatedApiKeyResponse } from './dto/api-keys.response.js';

@ApiTags('Admin')
@Authenticated({ roles: ['admin'] })
@Controller('admin/api-keys')
export class ApiKeysController {
  constructor(private readonly apiKeys: AdminApiKeysService) {}

  @Post()
  @ApiOperation({
    summary: 'Create a service API key',
    description:
      'The answer holds the whole key (`key`), for the X-API-Key header of the service; it is shown this once and only its hash is stored. ' +
      'To rotate a key: create a new one, deploy it to the service, then revoke the old one.',
  })
  @ApiCreatedResponse({ type: CreatedApiKeyResponse })
  @ApiBadRequestResponse({
    description: 'A missing or too long name, no scopes or an unknown one, an expiresAt not in the future, or unknown fields (VALIDATION_FAILED).',
    type: ProblemDetails,
  })
  create(@Actor() actor: AuditActor, @Body() dto: CreateApiKeyDto): Promise<CreatedApiKeyResponse> {
    return this.apiKeys.create(actor, dto);
  }

  @Get()
  @ApiOperation({ summary: 'The service API keys, newest first (revoked and expired ones too), never the keys themselves' })
  @ApiOkResponse({ type: ApiKeyPage })
  @ApiBadRequestResponse({ description: 'A bad limit or cursor (VALIDATION_FAILED).', type: ProblemDetails })
  list(@Query() query: ApiKeyListQuery): Promise<ApiKeyPage> {
    return this.apiKeys.list(query);
  }

  @Delete(':id')
  @HttpCode(204)
  @ApiParam({ name: 'id', format: 'uuid', description: 'The API key' })
  @ApiOperation({ summary: 'Revoke a service API key: every replica refuses it once this answers' })
  @ApiNoContentResponse({ description: 'Revoked (also when it was revoked already)' })
  @ApiBadRequestResponse({ description: 'The id is not a UUID (VALIDATION_FAILED).', type: ProblemDetails })
  @ApiNotFoundResponse({ description: 'No such API key (API_KEY_NOT_FOUND).', type: ProblemDetails })
  revoke(@Actor() actor: AuditActor, @Param('id', UuidParam) id: string): Promise<void> {
    return this.apiKeys.revoke(actor, id);
  }
}
