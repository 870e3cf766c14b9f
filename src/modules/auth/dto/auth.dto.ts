import { ApiProperty } from '@nestjs/swagger';
import { IsString, MaxLength, MinLength, ValidateIf } from 'class-validator';

import { EmailField, MobileField, NameField, NewPasswordField, PasswordField } from '../../../core/http/validation.js';
import { MobileFieldDoc } from '../../users/dto/update-profile.dto.js';

export class RegisterDto {
  @EmailField() email!: string;
  @NewPasswordField() password!: string;
  @NameField() name!: string;

  @MobileFieldDoc()
  @MobileField()
  @ValidateIf((_, value) => value !== undefined && value !== null)
  mobile?: string | null;
}

export class LoginDto {
  @EmailField() email!: string;
  @ApiProperty({ minLength: 1 }) @PasswordField() password!: string;
}

export class RefreshDto {
  @ApiProperty({ description: 'The opaque refresh token from the last sign-in or refresh', example: 'q8J2...', minLength: 1, maxLength: 512 })
  @IsString()
  @MinLength(1)
  @MaxLength(512)
  refreshToken!: string;
}
