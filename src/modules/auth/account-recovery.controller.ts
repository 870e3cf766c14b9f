import { Body, Controller, HttpCode, Post } from '@nestjs/common';
import { ApiAcceptedResponse, ApiBadRequestResponse, ApiNoContentResponse, ApiOperation, ApiTags } from '@nestjs/swagger';

import { Authenticated, type AuthUser, CurrentUser, Public } from '../../core/auth/auth.decorators.js';
import { ProblemDetails } from '../../core/errors/problem-details.js';
import { RateLimit } from '../../core/rate-limit/rate-limit.js';
import { AccountRecoveryService } from './account-recovery.service.js';
import { ForgotPasswordDto, ResetPasswordDto, VerifyEmailDto } from './dto/recovery.dto.js';

const tokenProblems = () =>
  ApiBadRequestResponse({ description: 'TOKEN_INVALID (unknown or used), TOKEN_EXPIRED, or VALIDATION_FAILED.', type: ProblemDetails });

@ApiTags('Auth')
@Controller('auth')
export class AccountRecoveryController {
  constructor(private readonly recovery: AccountRecoveryService) {}

  @Post('verify-email')
  @Public()
  @HttpCode(204)
  @ApiOperation({ summary: 'Confirm your email with the token from the verification link' })
  @ApiNoContentResponse({ description: 'Email verified' })
  @tokenProblems()
  verifyEmail(@Body() dto: VerifyEmailDto): Promise<void> {
    return this.recovery.verifyEmail(dto.token);
  }

  @Post('verify-email/resend')
  @Authenticated()
  @HttpCode(202)
  @RateLimit('verification-resend')
  @ApiOperation({ summary: 'Send a new verification link (the previous one stops working)' })
  @ApiAcceptedResponse({ description: 'A new link is on its way (nothing is sent if the email is already verified)' })
  resendVerification(@CurrentUser() user: AuthUser): Promise<void> {
    return this.recovery.resendVerification(user);
  }

  @Post('password/forgot')
  @Public()
  @HttpCode(202)
  @RateLimit('password-forgot', 'password-forgot-account')
  @ApiOperation({ summary: 'Ask for a password reset link; the answer is the same whether or not the email has an account' })
  @ApiAcceptedResponse({ description: 'If the email has an account, a reset link is on its way' })
  @ApiBadRequestResponse({ description: 'Invalid email (VALIDATION_FAILED).', type: ProblemDetails })
  forgotPassword(@Body() dto: ForgotPasswordDto): void {
    this.recovery.forgotPassword(dto.email);
  }

  @Post('password/reset')
  @Public()
  @HttpCode(204)
  @RateLimit('password-reset')
  @ApiOperation({ summary: 'Set a new password with the token from the reset link; every session ends' })
  @ApiNoContentResponse({ description: 'Password changed' })
  @tokenProblems()
  resetPassword(@Body() dto: ResetPasswordDto): Promise<void> {
    return this.recovery.resetPassword(dto.token, dto.newPassword);
  }
}
