import { Controller, Get, Inject } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';

import { Public } from '../../core/auth/auth.decorators.js';
import type { AppConfig } from '../../core/config/config.js';
import { APP_CONFIG } from '../../core/config/config.module.js';
import { serviceIndex, type ServiceIndex } from './service-index.js';

@ApiTags('Operations')
@Public()
@Controller()
export class ServiceIndexController {
  private readonly index: ServiceIndex;

  constructor(@Inject(APP_CONFIG) config: AppConfig) {
    this.index = serviceIndex(config.admin.consoleEnabled);
  }

  @Get()
  @ApiOperation({
    summary: 'What this service is and where its documents are',
    description: 'The same body answers GET / (outside the API prefix), for a person who starts there.',
  })
  @ApiOkResponse({
    schema: {
      type: 'object',
      required: ['name', 'version', 'description', 'links'],
      properties: {
        name: { type: 'string' },
        version: { type: 'string' },
        description: { type: 'string' },
        links: { type: 'object', description: 'Paths on this host', additionalProperties: { type: 'string' } },
      },
      example: serviceIndex(true),
    },
  })
  get(): ServiceIndex {
    return this.index;
  }
}
