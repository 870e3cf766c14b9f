import { Controller, UseFilters } from '@nestjs/common';
import { MessagePattern, Payload } from '@nestjs/microservices';

import { UserServicePatterns } from '../../client-kit/user-service.messages.js';
import { RpcErrorFilter } from '../../core/errors/rpc-error.filter.js';
import { GetPreferencesMessage } from './dto/preferences-messages.dto.js';
import type { PreferencesResponse } from './dto/preferences.dto.js';
import { PreferencesService } from './preferences.service.js';

/** preferences.get for other services: the same cached read as GET /users/me/preferences. */
@Controller()
@UseFilters(RpcErrorFilter)
export class PreferencesConsumer {
  constructor(private readonly preferences: PreferencesService) {}

  @MessagePattern(UserServicePatterns.preferencesGet)
  get(@Payload() { userId }: GetPreferencesMessage): Promise<PreferencesResponse | null> {
    return this.preferences.find(userId);
  }
}
