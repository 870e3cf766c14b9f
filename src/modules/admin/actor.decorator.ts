import { createParamDecorator, type ExecutionContext } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';

import type { AuthUser } from '../../core/auth/auth.decorators.js';
import { clientInfoOf } from '../../core/http/client-info.js';
import type { AuditActor } from '../audit/audit.service.js';

/** The signed-in admin and where the request came from, as the audit log records them. */
export const Actor = createParamDecorator((_data: unknown, context: ExecutionContext): AuditActor => {
  const request = context.switchToHttp().getRequest<FastifyRequest & { user: AuthUser }>();
  return { type: 'user', id: request.user.userId, ...clientInfoOf(request) };
});
