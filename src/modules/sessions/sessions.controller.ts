import { Controller, Delete, Get, HttpCode, Param } from '@nestjs/common';
import { ApiBadRequestResponse, ApiNoContentResponse, ApiNotFoundResponse, ApiOkResponse, ApiOperation, ApiParam, ApiTags } from '@nestjs/swagger';

import { Authenticated, type AuthUser, CurrentUser } from '../../core/auth/auth.decorators.js';
import { ProblemDetails } from '../../core/errors/problem-details.js';
import { UuidParam } from '../../core/http/validation.js';
import { SessionResponse } from '../auth/dto/auth.response.js';
import { SessionsService } from './sessions.service.js';

@ApiTags('Auth')
@Authenticated()
@Controller('auth/sessions')
export class SessionsController {
  constructor(private readonly sessions: SessionsService) {}

  @Get()
  @ApiOperation({ summary: 'Your active sessions, most recently used first' })
  @ApiOkResponse({ type: [SessionResponse] })
  list(@CurrentUser() user: AuthUser): Promise<SessionResponse[]> {
    return this.sessions.list(user);
  }

  @Delete(':id')
  @HttpCode(204)
  @ApiOperation({ summary: 'End one of your sessions' })
  @ApiParam({ name: 'id', format: 'uuid', description: 'The session (an id from GET /auth/sessions)' })
  @ApiNoContentResponse({ description: 'Session ended' })
  @ApiBadRequestResponse({ description: 'The id is not a UUID (VALIDATION_FAILED).', type: ProblemDetails })
  @ApiNotFoundResponse({ description: 'No active session of yours has this id (SESSION_NOT_FOUND).', type: ProblemDetails })
  revoke(@CurrentUser() user: AuthUser, @Param('id', UuidParam) id: string): Promise<void> {
    return this.sessions.revokeOwn(user, id);
  }
}
