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

/** class-validator's checks of what a value is, as against what it holds. */
const TYPE_RULES = new Set(['isString', 'isBoolean', 'isInt', 'isNumber', 'isArray', 'isObject', 'isDate']);
/** Its checks of how long a value is. */
const LENGTH_RULES = new Set(['minLength', 'maxLength', 'length', 'arrayMinSize', 'arrayMaxSize', 'arrayNotEmpty', 'isNotEmpty']);

/** class-validator starts its messages with the property name; the field is named separately here. */
const withoutProperty = (property: string, message: string) => (message.startsWith(`${property} `) ? message.slice(property.length + 1) : message);

/**
 * The one message a field gets, whatever the order of its decorators (which
 * is the order class-validator checks them in): an unknown field is not
 * allowed; a required one that is missing is required, not too long or not a
 * string; a value of the wrong type (null included) gets its type's message; only then its
 * length, and then its format, rules. Every failed rule is known here
 * (stopAtFirstError is off), so the choice is made in this one place.
 */
function messageFor(error: ValidationError): string | undefined {
  const failed = Object.entries(error.constraints ?? {});
  if (failed.length === 0) return undefined;
  if (failed.some(([rule]) => rule === 'whitelistValidation')) return 'is not allowed';
  // null is a value of the wrong type (JSON's), not a missing one.
  if (error.value === undefined) return 'is required';
  const [, message] =
    failed.find(([rule]) => TYPE_RULES.has(rule)) ?? failed.find(([rule]) => LENGTH_RULES.has(rule)) ?? failed[0]!;
  return withoutProperty(error.property, message);
}

/** class-validator's errors as the problem's `errors`: one per field, nested fields as dotted paths. */
export function fieldErrors(errors: ValidationError[], parent = ''): FieldError[] {
  return errors.flatMap((error) => {
    const field = parent ? `${parent}.${error.property}` : error.property;
    const message = messageFor(error);
    return [...(message === undefined ? [] : [{ field, message }]), ...fieldErrors(error.children ?? [], field)];
  });
}

const NUL = '\u0000';
/** A high surrogate not followed by a low one, or a low one not preceded by a high one. */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const INVALID_FIELDS = 'The request has invalid fields.';

/** How a key is named in a field path: as JSON would escape it, so a NUL in it shows as \u0000. */
const keyName = (key: string) => (key.includes(NUL) ? JSON.stringify(key).slice(1, -1) : key);

/**
 * What makes a string unstorable, if anything: a NUL character (PostgreSQL
 * refuses it in text and jsonb) or a lone surrogate (not Unicode at all: the
 * database refuses it in json, URI and email validators throw on it).
 */
function unstorable(text: string): string | undefined {
  if (text.includes(NUL)) return 'must not contain a NUL character';
  if (LONE_SURROGATE.test(text)) return 'must be well-formed Unicode (no lone surrogate)';
  return undefined;
}

/**
 * The fields (dotted paths, array indexes included) of a request value whose
 * string, or key, is unstorable, with why. Walked with a stack of its own: a
 * deeply nested body must not overflow the call stack.
 */
function unstorableFields(value: unknown, root = ''): FieldError[] {
  const found: FieldError[] = [];
  const pending: [unknown, string][] = [[value, root]];
  while (pending.length > 0) {
    const [current, path] = pending.pop()!;
    if (typeof current === 'string') {
      const problem = unstorable(current);
      if (problem) found.push({ field: path || 'body', message: problem });
    } else if (Array.isArray(current)) {
      current.forEach((item, index) => pending.push([item, path ? `${path}.${index}` : String(index)]));
    } else if (current !== null && typeof current === 'object') {
      for (const [key, item] of Object.entries(current)) {
        const field = path ? `${path}.${keyName(key)}` : keyName(key);
        const problem = unstorable(key);
        if (problem) found.push({ field, message: problem });
        else pending.push([item, field]);
      }
    }
  }
  return found.sort((a, b) => a.field.localeCompare(b.field));
}

/**
 * PostgreSQL cannot store a NUL character in text or jsonb, nor a lone
 * surrogate in json: such a string would fail its query (SQLSTATE
 * 22021/22P05/22P02), a 500 that logs a database error. So every body, query
 * and route parameter is refused with one first, in one place rather than a
 * decorator on each string field of each DTO. A body bound to a DTO must be
 * a JSON object: `null`, a number or an array is refused, not read as `{}`.
 */
class RequestValidationPipe extends ValidationPipe {
  override async transform(value: unknown, metadata: ArgumentMetadata): Promise<unknown> {
    // `custom` parameters (the signed-in user, headers) are not the client's body, query or path.
    if (metadata.type !== 'custom') {
      const problems = unstorableFields(value, metadata.data ?? '');
      if (problems.length > 0) throw new AppError(ErrorCode.VALIDATION_FAILED, 400, INVALID_FIELDS, problems);
      const isDto = typeof metadata.metatype === 'function' && ![String, Number, Boolean, Array, Object].includes(metadata.metatype as never);
      if (metadata.type === 'body' && !metadata.data && isDto && value !== undefined && (value === null || typeof value !== 'object' || Array.isArray(value))) {
        throw new AppError(ErrorCode.VALIDATION_FAILED, 400, INVALID_FIELDS, [{ field: 'body', message: 'must be a JSON object' }]);
      }
    }
    return super.transform(value, metadata);
  }
}

/** One global pipe: unknown fields and NUL characters are rejected, field problems come back as `errors`, one per field. */
export function createValidationPipe(): ValidationPipe {
  return new RequestValidationPipe({
    whitelist: true,
    forbidNonWhitelisted: true,
    transform: true,
    // Every rule of a field is checked, and fieldErrors picks the one message to send.
    stopAtFirstError: false,
    // The values are read by fieldErrors (missing or not) and never sent: a field problem names the field only.
    validationError: { target: false, value: true },
    exceptionFactory: (errors) => new AppError(ErrorCode.VALIDATION_FAILED, 400, INVALID_FIELDS, fieldErrors(errors)),
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
