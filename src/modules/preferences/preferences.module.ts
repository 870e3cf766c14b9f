import { Module } from '@nestjs/common';

import { PreferencesConsumer } from './preferences.consumer.js';
import { PreferencesController } from './preferences.controller.js';
import { PreferencesRepository } from './preferences.repository.js';
import { PreferencesService } from './preferences.service.js';

@Module({
  controllers: [PreferencesController, PreferencesConsumer],
  providers: [PreferencesRepository, PreferencesService],
  exports: [PreferencesService],
})
export class PreferencesModule {}
