import { applyDecorators, type ArgumentMetadata, ParseUUIDPipe, ValidationPipe, type ValidationError } from '@nestjs/common';
import { ApiProperty } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import {
  IsEmail,
  IsString,
  Matches,
  MaxLength,
  MinLength,
  registerDecorator,
  type ValidationOptions,
} from 'class-validator';
import commonPasswords from 'fxa-common-password-list';

import { AppError, type FieldError } from '../errors/app-error.js';
import { ErrorCode } from '../errors/error-codes.js';

export const PASSWORD_MIN = 8;
export const PASSWORD_MAX = 128;

function flatten(errors: ValidationError[], parent = ''): FieldError[] {
  return errors.flatMap((error) => {
    const field = parent ? `${parent}.${error.property}` : error.property;
    const own = Object.entries(error.constraints ?? {}).map(([constraint, message]) => ({
      field,
      // class-validator starts its messages with the property name; the field is named separately here.
      message:
        constraint === 'whitelistValidation'
          ? 'is not allowed'
          : message.startsWith(`${error.property} `)
            ? message.slice(error.property.length + 1)
            : message,
    }));
    return [...own, ...flatten(error.children ?? [], field)];
  });
}

const NUL = '\u0000';
const INVALID_FIELDS = 'The request has invalid fields.';

/** How a key is named in a field path: as JSON would escape it, so a NUL in it shows as \u0000. */
const keyName = (key: string) => (key.includes(NUL) ? JSON.stringify(key).slice(1, -1) : key);

/**
 * The fields (dotted paths, array indexes included) of a request value whose
 * string, or key, holds a NUL character. Walked with a stack of its own: a
 * deeply nested body must not overflow the call stack.
 */
function fieldsWithNul(value: unknown, root = ''): string[] {
  const found: string[] = [];
  const pending: [unknown, string][] = [[value, root]];
  while (pending.length > 0) {
    const [current, path] = pending.pop()!;
    if (typeof current === 'string') {
      if (current.includes(NUL)) found.push(path);
    } else if (Array.isArray(current)) {
      current.forEach((item, index) => pending.push([item, path ? `${path}.${index}` : String(index)]));
    } else if (current !== null && typeof current === 'object') {
      for (const [key, item] of Object.entries(current)) {
        const field = path ? `${path}.${keyName(key)}` : keyName(key);
        if (key.includes(NUL)) found.push(field);
        else pending.push([item, field]);
      }
    }
  }
  return found.sort();
}

/**
 * PostgreSQL cannot store a NUL character in text or jsonb: such a string
 * would fail its query (SQLSTATE 22021/22P05), a 500 that logs a database
 * error. So every body, query and route parameter is refused with it first,
 * in one place rather than a decorator on each string field of each DTO.
 */
class RequestValidationPipe extends ValidationPipe {
  override async transform(value: unknown, metadata: ArgumentMetadata): Promise<unknown> {
    // `custom` parameters (the signed-in user, headers) are not the client's body, query or path.
    if (metadata.type !== 'custom') {
      const fields = fieldsWithNul(value, metadata.data ?? '');
      if (fields.length > 0) {
        throw new AppError(
          ErrorCode.VALIDATION_FAILED,
          400,
          INVALID_FIELDS,
          fields.map((field) => ({ field: field || 'body', message: 'must not contain a NUL character' })),
        );
      }
    }
    return super.transform(value, metadata);
  }
}

/** One global pipe: unknown fields and NUL characters are rejected, field problems come back as `errors`. */
export function createValidationPipe(): ValidationPipe {
  return new RequestValidationPipe({
    whitelist: true,
    forbidNonWhitelisted: true,
    transform: true,
    stopAtFirstError: true,
    validationError: { target: false, value: false },
    exceptionFactory: (errors) =>
      new AppError(ErrorCode.VALIDATION_FAILED, 400, INVALID_FIELDS, flatten(errors)),
  });
}

/** Password policy of the contract: 8..128 characters, not all letters or all digits, not a commonly breached one. */
export function IsPasswordPolicy(options?: ValidationOptions): PropertyDecorator {
  return (target: object, propertyName: string | symbol) =>
    registerDecorator({
      name: 'isPasswordPolicy',
      target: target.constructor,
      propertyName: String(propertyName),
      options,
      validator: {
        validate: (value: unknown) => typeof value === 'string' && passwordProblem(value) === undefined,
        defaultMessage: (args) => passwordProblem(String(args?.value ?? '')) ?? 'is not an acceptable password',
      },
    });
}

export function passwordProblem(password: string): string | undefined {
  if (password.length < PASSWORD_MIN) return `must be at least ${PASSWORD_MIN} characters`;
  if (password.length > PASSWORD_MAX) return `must be at most ${PASSWORD_MAX} characters`;
  if (/^\p{L}+$/u.test(password)) return 'must not be all letters';
  if (/^\p{N}+$/u.test(password)) return 'must not be all digits';
  if (commonPasswords.test(password.toLowerCase())) return 'is too common; choose another';
  return undefined;
}

const trim = () => Transform(({ value }) => (typeof value === 'string' ? value.trim() : value));

/** Emails are compared and stored lower-cased (unique case-insensitively). */
export const EmailField = () =>
  applyDecorators(
    ApiProperty({ example: 'ada@example.com', maxLength: 254, format: 'email' }),
    Transform(({ value }) => (typeof value === 'string' ? value.trim().toLowerCase() : value)),
    IsString(),
    MaxLength(254),
    IsEmail({}, { message: 'must be an email address' }),
  );

export const NewPasswordField = () =>
  applyDecorators(
    ApiProperty({
      example: 'correct-horse-battery-staple',
      minLength: PASSWORD_MIN,
      maxLength: PASSWORD_MAX,
      format: 'password',
      description: '8 to 128 characters, not all letters or all digits, not a commonly breached password',
    }),
    IsString(),
    IsPasswordPolicy(),
  );

/** A password being checked, not set: only bounded, never judged by the policy (old passwords may predate it). */
export const PasswordField = () =>
  applyDecorators(
    ApiProperty({ example: 'correct-horse-battery-staple', maxLength: PASSWORD_MAX, format: 'password' }),
    IsString(),
    MinLength(1),
    MaxLength(PASSWORD_MAX),
  );

export const NameField = () =>
  applyDecorators(
    ApiProperty({ example: 'Ada Lovelace', minLength: 1, maxLength: 100 }),
    trim(),
    IsString(),
    MinLength(1, { message: 'must not be empty' }),
    MaxLength(100),
  );

/** E.164 mobile numbers, e.g. +447911123456. */
export const MobileField = () =>
  applyDecorators(
    ApiProperty({ example: '+447911123456', required: false, nullable: true, description: 'E.164 format' }),
    trim(),
    IsString(),
    Matches(/^\+[1-9]\d{6,14}$/, { message: 'must be an E.164 phone number such as +447911123456' }),
  );

/** `@Param('id', UuidParam)`: a non-UUID id is a 400 field error, not a database error. */
export const UuidParam = new ParseUUIDPipe({
  exceptionFactory: () =>
    new AppError(ErrorCode.VALIDATION_FAILED, 400, 'The id is not a UUID.', [{ field: 'id', message: 'must be a UUID' }]),
});
