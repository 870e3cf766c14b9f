import { ApiProperty } from '@nestjs/swagger';
import { IsString, MaxLength, MinLength } from 'class-validator';

import { EmailField, NewPasswordField } from '../../../core/http/validation.js';

const TokenField = () => (target: object, property: string | symbol) => {
  ApiProperty({ description: 'The token from the emailed link', example: 'pP3v8mA0kq...', minLength: 1, maxLength: 512 })(target, property);
  IsString()(target, property);
  MinLength(1)(target, property);
  MaxLength(512)(target, property);
};

export class VerifyEmailDto {
  @TokenField() token!: string;
}

export class ForgotPasswordDto {
  @EmailField() email!: string;
}

export class ResetPasswordDto {
  @TokenField() token!: string;
  @NewPasswordField() newPassword!: string;
}
