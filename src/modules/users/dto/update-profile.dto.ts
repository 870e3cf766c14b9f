import { ValidateIf } from 'class-validator';

import { MobileField, NameField } from '../../../core/http/validation.js';

export class UpdateProfileDto {
  @NameField()
  @ValidateIf((_, value) => value !== undefined)
  name?: string;

  /** null removes the number. */
  @MobileField()
  @ValidateIf((_, value) => value !== undefined && value !== null)
  mobile?: string | null;
}
