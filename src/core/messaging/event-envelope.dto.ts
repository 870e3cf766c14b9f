import { ApiProperty } from '@nestjs/swagger';

import type { EventEnvelope } from './domain-event.js';

/** The envelope fields the publisher adds to every event's data, as /asyncapi.json documents them. */
export class EventEnvelopeData implements EventEnvelope {
  @ApiProperty({
    format: 'uuid',
    example: '7d9f8b6a-2c4e-4a1b-9e3d-5f6a7b8c9d0e',
    description: 'Unique per event, and the AMQP message-id: delivery is at-least-once, so de-duplicate by it',
  })
  eventId!: string;
  @ApiProperty({ format: 'date-time', example: '2026-11-22T09:00:00.000Z', description: 'When the service recorded the event, in the transaction of the change' })
  occurredAt!: string;
  @ApiProperty({
    type: String,
    nullable: true,
    example: '0f8fad5b-d9cb-469f-a165-70867728950e',
    description: 'The correlation id of the request or message that caused the event (null for work the service started on its own, such as ending suspensions)',
  })
  correlationId!: string | null;
}
