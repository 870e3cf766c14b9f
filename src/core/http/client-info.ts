import { createParamDecorator, type ExecutionContext } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';

/** Where a request came from, as recorded on the sessions it starts and in the audit log. */
export interface ClientInfo {
  ip: string | null;
  userAgent: string | null;
}

export function clientInfoOf(request: FastifyRequest): ClientInfo {
  const userAgent = request.headers['user-agent'];
  return { ip: request.ip?.slice(0, 45) ?? null, userAgent: userAgent ? userAgent.slice(0, 512) : null };
}

export const Client = createParamDecorator(
  (_data: unknown, context: ExecutionContext): ClientInfo => clientInfoOf(context.switchToHttp().getRequest<FastifyRequest>()),
);
