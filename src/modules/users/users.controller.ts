import { Body, Controller, Get, Param, Patch } from '@nestjs/common';
import { ApiBadRequestResponse, ApiNotFoundResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';

import { Authenticated, type AuthUser, CurrentUser } from '../../core/auth/auth.decorators.js';
import { ProblemDetails } from '../../core/errors/problem-details.js';
import { UuidParam } from '../../core/http/validation.js';
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

  @Get(':id')
  @ApiOperation({ summary: 'A user, for the user itself or an admin' })
  @ApiOkResponse({ type: UserResponse })
  @ApiBadRequestResponse({ description: 'The id is not a UUID (VALIDATION_FAILED).', type: ProblemDetails })
  @ApiNotFoundResponse({ description: 'No such user, or not yours to see (USER_NOT_FOUND).', type: ProblemDetails })
  byId(@CurrentUser() user: AuthUser, @Param('id', UuidParam) id: string): Promise<UserResponse> {
    return this.users.getVisibleTo(user, id);
  }
}
