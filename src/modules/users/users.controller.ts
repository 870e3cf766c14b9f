import { Body, Controller, Get, HttpCode, Param, Patch, Post } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiBody,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiParam,
  ApiTags,
} from '@nestjs/swagger';

import { AcceptsApiKey, Authenticated, type AuthUser, type Caller, CurrentCaller, CurrentUser } from '../../core/auth/auth.decorators.js';
import { ProblemDetails } from '../../core/errors/problem-details.js';
import { UuidParam } from '../../core/http/validation.js';
import { LOOKUP_MAX, LookupUsersDto, UserLookupResponse } from './dto/lookup-users.dto.js';
import { UpdateProfileDto } from './dto/update-profile.dto.js';
import { UserResponse } from './dto/user.response.js';
import { UsersService } from './users.service.js';

@ApiTags('Users')
@Authenticated()
@Controller('users')
export class UsersController {
  constructor(private readonly users: UsersService) {}

  @Get('me')
  @ApiOperation({ summary: 'The signed-in user' })
  @ApiOkResponse({ type: UserResponse })
  me(@CurrentUser() user: AuthUser): Promise<UserResponse> {
    return this.users.getProfile(user.userId);
  }

  @Patch('me')
  @ApiOperation({ summary: 'Change your name or mobile number (null removes it)' })
  @ApiOkResponse({ type: UserResponse })
  @ApiBadRequestResponse({ description: 'Invalid or unknown fields (VALIDATION_FAILED).', type: ProblemDetails })
  updateMe(@CurrentUser() user: AuthUser, @Body() changes: UpdateProfileDto): Promise<UserResponse> {
    return this.users.updateProfile(user.userId, changes);
  }

  @Post('lookup')
  @HttpCode(200)
  @AcceptsApiKey('users:read', { roles: ['admin'] })
  @ApiOperation({
    summary: 'Many users at once, for services (API key with users:read) and admins',
    description:
      `Up to ${LOOKUP_MAX} ids; the answer holds the users found, in the order asked for (an id asked twice appears twice, ` +
      'an unknown id not at all). Send either `Authorization: Bearer <admin access token>` or `X-API-Key: <key>`.',
  })
  @ApiBody({ type: LookupUsersDto })
  @ApiOkResponse({
    type: UserLookupResponse,
    example: {
      data: [
        {
          id: '3f1c2a4e-8d5b-4b7a-9c1e-2f6d8a9b0c1d',
          email: 'ada@example.com',
          name: 'Ada Lovelace',
          mobile: null,
          role: 'user',
          status: 'active',
          emailVerified: true,
          createdAt: '2026-11-22T09:00:00.000Z',
          updatedAt: '2026-11-22T09:00:00.000Z',
        },
      ],
    },
  })
  @ApiBadRequestResponse({ description: `ids missing, empty, over ${LOOKUP_MAX}, not UUIDs, or unknown fields (VALIDATION_FAILED).`, type: ProblemDetails })
  lookup(@Body() dto: LookupUsersDto): Promise<UserLookupResponse> {
    return this.users.lookup(dto.ids);
  }

  @Get(':id')
  @AcceptsApiKey('users:read')
  @ApiParam({ name: 'id', format: 'uuid', description: 'The user' })
  @ApiOperation({
    summary: 'A user, for the user itself, an admin, or a service (API key with users:read)',
    description: 'Send either `Authorization: Bearer <access token>` or `X-API-Key: <key>`.',
  })
  @ApiOkResponse({ type: UserResponse })
  @ApiBadRequestResponse({ description: 'The id is not a UUID (VALIDATION_FAILED).', type: ProblemDetails })
  @ApiNotFoundResponse({ description: 'No such user, or not yours to see (USER_NOT_FOUND).', type: ProblemDetails })
  byId(@CurrentCaller() caller: Caller, @Param('id', UuidParam) id: string): Promise<UserResponse> {
    return this.users.getVisibleTo(caller, id);
  }
}
