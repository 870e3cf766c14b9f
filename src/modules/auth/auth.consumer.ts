import { Controller, UseFilters } from '@nestjs/common';
import { MessagePattern, Payload } from '@nestjs/microservices';

import { UserServicePatterns } from '../../client-kit/user-service.messages.js';
import { RpcErrorFilter } from '../../core/errors/rpc-error.filter.js';
import { AccessTokenCheck } from '../sessions/access-token-check.js';
import { type VerifyTokenVerdict, VerifyTokenMessage } from './dto/verify-token.dto.js';

/** auth.verify_token: whether an access token would be admitted by our own routes, and why not. */
@Controller()
@UseFilters(RpcErrorFilter)
export class AuthConsumer {
  constructor(private readonly tokens: AccessTokenCheck) {}

  @MessagePattern(UserServicePatterns.verifyToken)
  verify(@Payload() { token }: VerifyTokenMessage): Promise<VerifyTokenVerdict> {
    return this.tokens.verify(token);
  }
}
