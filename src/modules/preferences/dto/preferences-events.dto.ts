import { ApiProperty } from '@nestjs/swagger';

import { PreferencesResponse } from './preferences.dto.js';

// The data of preferences.updated beyond the envelope (the contract's table):
// the factory in preferences.events.ts returns it, and /asyncapi.json
// documents it, so the two cannot drift apart.

/** preferences.updated */
export class PreferencesUpdatedData {
  @ApiProperty({ format: 'uuid', example: '3f1c2a4e-8d5b-4b7a-9c1e-2f6d8a9b0c1d' }) userId!: string;
  @ApiProperty({ type: () => PreferencesResponse, description: 'All the preferences after the change' }) preferences!: PreferencesResponse;
}
