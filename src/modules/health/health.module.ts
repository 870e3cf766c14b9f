import { Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';

import { HealthController } from './health.controller.js';
import { ServiceIndexController } from './service-index.controller.js';

@Module({ imports: [TerminusModule.forRoot({ logger: false })], controllers: [HealthController, ServiceIndexController] })
export class HealthModule {}
