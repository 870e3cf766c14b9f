import { Controller, UseFilters } from '@nestjs/common';
import { MessagePattern, Payload } from '@nestjs/microservices';

import { UserServicePatterns } from '../../client-kit/user-service.messages.js';
import { RpcErrorFilter } from '../../core/errors/rpc-error.filter.js';
import { GetUserMessage, GetUsersMessage } from './dto/user-messages.dto.js';
import type { UserResponse } from './dto/user.response.js';
import { UsersService } from './users.service.js';

/** The users' read patterns for other services: the same cached reads as the HTTP routes. */
@Controller()
@UseFilters(RpcErrorFilter)
export class UsersConsumer {
  constructor(private readonly users: UsersService) {}

  @MessagePattern(UserServicePatterns.usersGet)
  get(@Payload() { id }: GetUserMessage): Promise<UserResponse | null> {
    return this.users.findProfile(id);
  }

  @MessagePattern(UserServicePatterns.usersGetMany)
  getMany(@Payload() { ids }: GetUsersMessage): Promise<UserResponse[]> {
    return this.users.findProfiles(ids);
  }
}
