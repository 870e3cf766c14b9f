import { Body, Controller, Headers, HttpCode, Post, Res } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiConflictResponse,
  ApiCreatedResponse,
  ApiForbiddenResponse,
  ApiNoContentResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
  ApiUnauthorizedResponse,
} from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';

import { Authenticated, type AuthUser, CurrentUser, Public } from '../../core/auth/auth.decorators.js';
import { ProblemDetails } from '../../core/errors/problem-details.js';
import { ApiIdempotencyKey, RateLimit } from '../../core/rate-limit/rate-limit.js';
import { AuthService } from './auth.service.js';
import { Client, type ClientInfo } from '../../core/http/client-info.js';
import { LoginDto, RefreshDto, RegisterDto } from './dto/auth.dto.js';
import { AuthResponse, TokensResponse } from './dto/auth.response.js';
import { SessionsService } from '../sessions/sessions.service.js';

const invalidBody = () => ApiBadRequestResponse({ description: 'Invalid or unknown fields (VALIDATION_FAILED).', type: ProblemDetails });

@ApiTags('Auth')
@Controller('auth')
export class AuthController {
  constructor(
    private readonly auth: AuthService,
    private readonly sessions: SessionsService,
  ) {}

  @Post('register')
  @Public()
  @RateLimit('register')
  @ApiIdempotencyKey()
  @ApiOperation({ summary: 'Create an account and sign in' })
  @ApiCreatedResponse({ type: AuthResponse, description: 'Also the replayed answer to a repeat with the same Idempotency-Key and body.' })
  @invalidBody()
  @ApiConflictResponse({
    description: 'EMAIL_TAKEN, or IDEMPOTENCY_KEY_REUSED (same key, different body).',
    type: ProblemDetails,
  })
  async register(
    @Body() dto: RegisterDto,
    @Client() client: ClientInfo,
    @Headers('idempotency-key') idempotencyKey: string | undefined,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<AuthResponse> {
    const response = await this.auth.register(dto, client, idempotencyKey);
    reply.status(response.status);
    return response.body;
  }

  @Post('login')
  @Public()
  @HttpCode(200)
  @RateLimit('login')
  @ApiOperation({
    summary: 'Sign in with email and password',
    description:
      'Failed sign-ins lock the client address out of that account, progressively (429 RATE_LIMITED with Retry-After, whatever the password); addresses without failures are not affected.',
  })
  @ApiOkResponse({ type: AuthResponse })
  @invalidBody()
  @ApiUnauthorizedResponse({ description: 'Unknown email or wrong password, alike (INVALID_CREDENTIALS).', type: ProblemDetails })
  @ApiForbiddenResponse({ description: 'ACCOUNT_BLOCKED, ACCOUNT_SUSPENDED or ACCOUNT_DEACTIVATED.', type: ProblemDetails })
  login(@Body() dto: LoginDto, @Client() client: ClientInfo): Promise<AuthResponse> {
    return this.auth.login(dto, client);
  }

  @Post('refresh')
  @Public()
  @HttpCode(200)
  @RateLimit('refresh')
  @ApiOperation({
    summary: 'Trade a refresh token for a new pair',
    description:
      'The old refresh token is spent. Within REFRESH_REUSE_GRACE_SECONDS a spent token gets the same answer again; after that it ends the session (REFRESH_TOKEN_REUSED).',
  })
  @ApiOkResponse({ type: TokensResponse })
  @invalidBody()
  @ApiUnauthorizedResponse({ description: 'UNAUTHENTICATED (unknown token, ended session) or REFRESH_TOKEN_REUSED.', type: ProblemDetails })
  @ApiForbiddenResponse({ description: 'ACCOUNT_BLOCKED, ACCOUNT_SUSPENDED or ACCOUNT_DEACTIVATED.', type: ProblemDetails })
  refresh(@Body() dto: RefreshDto): Promise<TokensResponse> {
    return this.sessions.refresh(dto.refreshToken);
  }

  @Post('logout')
  @HttpCode(204)
  @Authenticated()
  @ApiOperation({ summary: "End this session: its access and refresh tokens stop working at once" })
  @ApiNoContentResponse({ description: 'Signed out' })
  logout(@CurrentUser() user: AuthUser): Promise<void> {
    return this.auth.logout(user);
  }

  @Post('logout-all')
  @HttpCode(204)
  @Authenticated()
  @ApiOperation({ summary: 'End every session of the signed-in user' })
  @ApiNoContentResponse({ description: 'Signed out everywhere' })
  logoutAll(@CurrentUser() user: AuthUser): Promise<void> {
    return this.auth.logoutAll(user);
  }
}
