import { Body, Controller, Delete, Get, Headers, HttpCode, Param, Patch, Post, Query, Res } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiConflictResponse,
  ApiCreatedResponse,
  ApiNoContentResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiParam,
  ApiTags,
} from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';

import { Authenticated } from '../../core/auth/auth.decorators.js';
import { ProblemDetails } from '../../core/errors/problem-details.js';
import { UuidParam } from '../../core/http/validation.js';
import { ApiIdempotencyKey } from '../../core/rate-limit/rate-limit.js';
import type { AuditActor } from '../audit/audit.service.js';
import { Actor } from './actor.decorator.js';
import { AdminService } from './admin.service.js';
import { AdminUserQuery, ChangeRoleDto, ChangeStatusDto, CreateUserDto } from './dto/admin.dto.js';
import { AdminSessionResponse, AdminUserPage, AdminUserResponse, UserStatsResponse } from './dto/admin.response.js';

const userIdParam = () => ApiParam({ name: 'id', format: 'uuid', description: 'The user' });
const notFound = () => ApiNotFoundResponse({ description: 'No such user (USER_NOT_FOUND).', type: ProblemDetails });
const invalid = (what: string) => ApiBadRequestResponse({ description: `${what} (VALIDATION_FAILED).`, type: ProblemDetails });

@ApiTags('Admin')
@Authenticated({ roles: ['admin'] })
@Controller('admin')
export class AdminUsersController {
  constructor(private readonly admin: AdminService) {}

  @Get('users')
  @ApiOperation({
    summary: 'Find users: newest first, keyset-paged, by status, role, or a prefix of the email or of a word of the name',
  })
  @ApiOkResponse({ type: AdminUserPage })
  @invalid('A bad limit, filter or cursor (a cursor is only valid with the filters it came with)')
  listUsers(@Query() query: AdminUserQuery): Promise<AdminUserPage> {
    return this.admin.listUsers(query);
  }

  @Post('users')
  @ApiIdempotencyKey()
  @ApiOperation({ summary: 'Create an account with a role (it gets a verification mail)' })
  @ApiCreatedResponse({ type: AdminUserResponse, description: 'Also the replayed answer to a repeat with the same Idempotency-Key and body.' })
  @invalid('Invalid or unknown fields, a weak password, or a bad Idempotency-Key')
  @ApiConflictResponse({ description: 'EMAIL_TAKEN, or IDEMPOTENCY_KEY_REUSED (same key, different body).', type: ProblemDetails })
  async createUser(
    @Actor() actor: AuditActor,
    @Body() dto: CreateUserDto,
    @Headers('idempotency-key') idempotencyKey: string | undefined,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<AdminUserResponse> {
    const response = await this.admin.createUser(actor, dto, idempotencyKey);
    reply.status(response.status);
    return response.body;
  }

  @Get('users/:id')
  @userIdParam()
  @ApiOperation({ summary: 'A user, with the reason and end of its status' })
  @ApiOkResponse({ type: AdminUserResponse })
  @invalid('The id is not a UUID')
  @notFound()
  getUser(@Param('id', UuidParam) id: string): Promise<AdminUserResponse> {
    return this.admin.getUser(id);
  }

  @Patch('users/:id/status')
  @userIdParam()
  @ApiOperation({
    summary: 'Block, suspend (until a date) or reactivate a user, with a reason',
    description:
      'Blocking or suspending ends every session of the user: its access tokens are refused on every replica once this answers, ' +
      'and session.revoked (reason admin) goes out for each. A suspension lifts itself when `until` passes.',
  })
  @ApiOkResponse({ type: AdminUserResponse })
  @invalid('Invalid fields: a missing reason, `until` missing, past or too far ahead for suspended, or given with another status')
  @notFound()
  @ApiConflictResponse({
    description: 'SELF_CHANGE_FORBIDDEN (your own account), LAST_ADMIN (the last active admin), or USER_DEACTIVATED.',
    type: ProblemDetails,
  })
  setStatus(@Actor() actor: AuditActor, @Param('id', UuidParam) id: string, @Body() dto: ChangeStatusDto): Promise<AdminUserResponse> {
    return this.admin.setStatus(actor, id, dto);
  }

  @Patch('users/:id/role')
  @userIdParam()
  @ApiOperation({
    summary: 'Promote or demote a user',
    description: 'A demotion ends every session of the user, so no token keeps admin rights; after a promotion the next refresh or sign-in carries the role.',
  })
  @ApiOkResponse({ type: AdminUserResponse })
  @invalid('Invalid or unknown fields')
  @notFound()
  @ApiConflictResponse({
    description: 'SELF_CHANGE_FORBIDDEN (demoting yourself), LAST_ADMIN (the last active admin), or USER_DEACTIVATED.',
    type: ProblemDetails,
  })
  setRole(@Actor() actor: AuditActor, @Param('id', UuidParam) id: string, @Body() dto: ChangeRoleDto): Promise<AdminUserResponse> {
    return this.admin.setRole(actor, id, dto);
  }

  @Get('users/:id/sessions')
  @userIdParam()
  @ApiOperation({ summary: "A user's active sessions, most recently used first" })
  @ApiOkResponse({ type: [AdminSessionResponse] })
  @invalid('The id is not a UUID')
  @notFound()
  listSessions(@Param('id', UuidParam) id: string): Promise<AdminSessionResponse[]> {
    return this.admin.listSessions(id);
  }

  @Delete('users/:id/sessions')
  @HttpCode(204)
  @userIdParam()
  @ApiOperation({ summary: 'End every session of a user; its access tokens are refused at once' })
  @ApiNoContentResponse({ description: 'Every session ended (also when there was none)' })
  @invalid('The id is not a UUID')
  @notFound()
  endSessions(@Actor() actor: AuditActor, @Param('id', UuidParam) id: string): Promise<void> {
    return this.admin.endSessions(actor, id);
  }

  @Get('stats')
  @ApiOperation({ summary: 'User counts: exact, in constant time however many users there are' })
  @ApiOkResponse({ type: UserStatsResponse })
  stats(): Promise<UserStatsResponse> {
    return this.admin.stats();
  }
}
