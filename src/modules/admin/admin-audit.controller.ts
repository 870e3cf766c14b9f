import { Controller, Get, Query } from '@nestjs/common';
import { ApiBadRequestResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';

import { Authenticated } from '../../core/auth/auth.decorators.js';
import { ProblemDetails } from '../../core/errors/problem-details.js';
import { AdminService } from './admin.service.js';
import { AuditLogQuery } from './dto/admin.dto.js';
import { AuditLogPage } from './dto/admin.response.js';

@ApiTags('Admin')
@Authenticated({ roles: ['admin'] })
@Controller('admin/audit-log')
export class AdminAuditController {
  constructor(private readonly admin: AdminService) {}

  @Get()
  @ApiOperation({ summary: 'The audit log, newest first: who changed what about whom, from where, before and after' })
  @ApiOkResponse({ type: AuditLogPage })
  @ApiBadRequestResponse({ description: 'A bad limit, filter or cursor (VALIDATION_FAILED).', type: ProblemDetails })
  list(@Query() query: AuditLogQuery): Promise<AuditLogPage> {
    return this.admin.auditLog(query);
  }
}
