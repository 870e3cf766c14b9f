import { Body, Controller, Delete, Get, HttpCode, Post } from '@nestjs/common';
import { ApiBadRequestResponse, ApiNoContentResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';

import { Authenticated, type AuthUser, CurrentUser } from '../../core/auth/auth.decorators.js';
import { ProblemDetails } from '../../core/errors/problem-details.js';
import { RateLimit } from '../../core/rate-limit/rate-limit.js';
import { AccountService } from './account.service.js';
import { AccountExport, ChangePasswordDto } from './dto/account.dto.js';

@ApiTags('Users')
@Authenticated()
@Controller('users/me')
export class AccountController {
  constructor(private readonly account: AccountService) {}

  @Post('password')
  @HttpCode(204)
  @RateLimit('password-change')
  @ApiOperation({ summary: 'Change your password; every other session ends, this one stays' })
  @ApiNoContentResponse({ description: 'Password changed' })
  @ApiBadRequestResponse({
    description: 'INVALID_CURRENT_PASSWORD, or VALIDATION_FAILED (weak or unchanged new password).',
    type: ProblemDetails,
  })
  changePassword(@CurrentUser() user: AuthUser, @Body() dto: ChangePasswordDto): Promise<void> {
    return this.account.changePassword(user, dto);
  }

  @Delete()
  @HttpCode(204)
  @ApiOperation({ summary: 'Deactivate your account: it can no longer sign in, and every session ends' })
  @ApiNoContentResponse({ description: 'Deactivated' })
  deactivate(@CurrentUser() user: AuthUser): Promise<void> {
    return this.account.deactivate(user);
  }

  @Get('export')
  @ApiOperation({ summary: 'Everything held about you: profile, preferences, sessions, audit entries about you' })
  @ApiOkResponse({ type: AccountExport })
  export(@CurrentUser() user: AuthUser): Promise<AccountExport> {
    return this.account.export(user.userId);
  }
}
