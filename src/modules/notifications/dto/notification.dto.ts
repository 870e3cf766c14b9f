import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsObject, IsOptional, IsString, IsUUID, Matches, MaxLength, MinLength, registerDecorator } from 'class-validator';

import type {
  NotificationChannel,
  NotificationRequested,
  NotificationSuppressedReason,
} from '../../../client-kit/user-service.messages.js';

export const NOTIFICATION_CHANNELS: NotificationChannel[] = ['email', 'push', 'sms'];
export const SUPPRESSION_REASONS: NotificationSuppressedReason[] = ['unknown_user', 'inactive', 'opted_out', 'no_address'];
/** The template's data travels on in notification.dispatch and sits in the outbox meanwhile: keep it small. */
export const TEMPLATE_DATA_MAX_BYTES = 8_192;

function FitsIn(maxBytes: number): PropertyDecorator {
  return (target: object, propertyName: string | symbol) =>
    registerDecorator({
      name: 'fitsIn',
      target: target.constructor,
      propertyName: String(propertyName),
      options: { message: `must be at most ${maxBytes} bytes as JSON` },
      validator: { validate: (value: unknown) => Buffer.byteLength(JSON.stringify(value) ?? '') <= maxBytes },
    });
}

/** notification.requested, as another service emits it. */
export class NotificationRequestedMessage implements NotificationRequested {
  @ApiProperty({ format: 'uuid', example: '3f1c2a4e-8d5b-4b7a-9c1e-2f6d8a9b0c1d' })
  @IsUUID('all', { message: 'must be a UUID' })
  userId!: string;

  @ApiProperty({ enum: NOTIFICATION_CHANNELS, example: 'email' })
  @IsIn(NOTIFICATION_CHANNELS, { message: `must be one of ${NOTIFICATION_CHANNELS.join(', ')}` })
  channel!: NotificationChannel;

  @ApiProperty({ example: 'order-shipped', maxLength: 100, pattern: '^[A-Za-z0-9][A-Za-z0-9._-]*$' })
  @IsString({ message: 'must be a string' })
  @MinLength(1, { message: 'must not be empty' })
  @MaxLength(100, { message: 'must be at most 100 characters' })
  @Matches(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, { message: 'must be letters, digits, dots, dashes and underscores' })
  template!: string;

  @ApiPropertyOptional({ type: 'object', additionalProperties: true, example: { orderId: 'A-1042' }, description: 'Handed on unchanged' })
  @IsOptional()
  @IsObject({ message: 'must be an object' })
  @FitsIn(TEMPLATE_DATA_MAX_BYTES)
  data?: Record<string, unknown>;

  @ApiPropertyOptional({
    maxLength: 128,
    example: 'order-A-1042-shipped',
    description: 'Makes the request idempotent; without it the AMQP message-id, or else the message content, stands in',
  })
  @IsOptional()
  @IsString({ message: 'must be a string' })
  @MinLength(1, { message: 'must not be empty' })
  @MaxLength(128, { message: 'must be at most 128 characters' })
  requestId?: string;
}

export class NotificationDispatchData {
  @ApiProperty({ enum: NOTIFICATION_CHANNELS }) channel!: NotificationChannel;
  @ApiProperty({ description: 'The email address (email), mobile number (sms) or push token (push)', example: 'ada@example.com' })
  to!: string;
  @ApiProperty({ example: 'order-shipped' }) template!: string;
  @ApiProperty({ type: 'object', additionalProperties: true, example: { orderId: 'A-1042' } }) data!: Record<string, unknown>;
  @ApiProperty({ format: 'uuid' }) userId!: string;
  @ApiProperty({ example: 'en-GB', description: "The user's BCP-47 language" }) language!: string;
  @ApiProperty({ description: 'The idempotency key the request was recognized by' }) requestId!: string;
}

export class NotificationSuppressedData {
  @ApiProperty({ format: 'uuid' }) userId!: string;
  @ApiProperty({ enum: NOTIFICATION_CHANNELS }) channel!: NotificationChannel;
  @ApiProperty({
    enum: SUPPRESSION_REASONS,
    description: 'unknown_user; inactive (blocked, suspended or deactivated); opted_out of the channel; no_address for it',
  })
  reason!: NotificationSuppressedReason;
  @ApiProperty({ description: 'The idempotency key the request was recognized by' }) requestId!: string;
}
