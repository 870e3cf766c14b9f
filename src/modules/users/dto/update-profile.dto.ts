import { ApiPropertyOptional } from '@nestjs/swagger';
import { ValidateIf } from 'class-validator';

import { MobileField, NameField } from '../../../core/http/validation.js';

/**
 * How a mobile number field is documented: MobileField (core/http/validation.ts)
 * leaves the type to `string | null`, which Swagger documents as an object, and
 * does not publish its pattern (this one is the same E.164 pattern).
 */
export const MobileFieldDoc = () => ApiPropertyOptional({ type: String, pattern: '^\\+[1-9]\\d{6,14}$' });

/** Both fields optional: NameField alone documents a required name. */
export class UpdateProfileDto {
  @ApiPropertyOptional()
  @NameField()
  @ValidateIf((_, value) => value !== undefined)
  name?: string;

  /** null removes the number. */
  @MobileFieldDoc()
  @MobileField()
  @ValidateIf((_, value) => value !== undefined && value !== null)
  mobile?: string | null;
}
