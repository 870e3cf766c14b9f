import { Body, Controller, Get, Patch } from '@nestjs/common';
import { ApiBadRequestResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';

import { Authenticated, type AuthUser, CurrentUser } from '../../core/auth/auth.decorators.js';
import { ProblemDetails } from '../../core/errors/problem-details.js';
import { PreferencesResponse, UpdatePreferencesDto } from './dto/preferences.dto.js';
import { PreferencesService } from './preferences.service.js';

@ApiTags('Preferences')
@Authenticated()
@Controller('users/me/preferences')
export class PreferencesController {
  constructor(private readonly preferences: PreferencesService) {}

  @Get()
  @ApiOperation({ summary: 'Your notification preferences (defaults until you change them)' })
  @ApiOkResponse({ type: PreferencesResponse })
  get(@CurrentUser() user: AuthUser): Promise<PreferencesResponse> {
    return this.preferences.get(user.userId);
  }

  @Patch()
  @ApiOperation({ summary: 'Change any subset of your preferences' })
  @ApiOkResponse({ type: PreferencesResponse })
  @ApiBadRequestResponse({ description: 'Invalid or unknown fields (VALIDATION_FAILED).', type: ProblemDetails })
  update(@CurrentUser() user: AuthUser, @Body() changes: UpdatePreferencesDto): Promise<PreferencesResponse> {
    return this.preferences.update(user.userId, changes);
  }
}
