import type { ArgumentMetadata } from '@nestjs/common';
import { ValidationError } from 'class-validator';
import commonPasswords from 'fxa-common-password-list';

import { LoginDto, RefreshDto, RegisterDto } from '../../modules/auth/dto/auth.dto.js';
import { AppError } from '../errors/app-error.js';
import { createValidationPipe, fieldErrors, PASSWORD_MAX, PASSWORD_MIN, passwordProblem, UuidParam } from './validation.js';

describe('passwordProblem', () => {
  it('accepts a long mixed password', () => {
    expect(passwordProblem('correct-horse-battery-staple')).toBeUndefined();
    expect(passwordProblem('Tr0ub4dor&3x')).toBeUndefined();
  });

  it('accepts exactly the minimum and the maximum length', () => {
    expect(passwordProblem('a'.repeat(PASSWORD_MIN - 1) + '7')).toBeUndefined();
    expect(passwordProblem('a'.repeat(PASSWORD_MAX - 1) + '7')).toBeUndefined();
  });

  it('refuses a password shorter than 8 characters', () => {
    expect(passwordProblem('ab3$efg')).toBe('must be at least 8 characters');
    expect(passwordProblem('')).toBe('must be at least 8 characters');
  });

  it('refuses a password longer than 128 characters', () => {
    expect(passwordProblem('a1'.repeat(64) + 'x')).toBe('must be at most 128 characters');
  });

  it('refuses all letters, in any script', () => {
    expect(passwordProblem('abcdefghijkl')).toBe('must not be all letters');
    expect(passwordProblem('ÄÖÜßäöüéèêë')).toBe('must not be all letters');
    expect(passwordProblem('пожалуйстапароль')).toBe('must not be all letters');
    expect(passwordProblem('密码密码密码密码')).toBe('must not be all letters');
  });

  it('refuses all digits, in any script', () => {
    expect(passwordProblem('9081726354')).toBe('must not be all digits');
    expect(passwordProblem('٠١٢٣٤٥٦٧٨٩')).toBe('must not be all digits');
    expect(passwordProblem('１２３４５６７８９')).toBe('must not be all digits');
  });

  it('refuses a commonly breached password, whatever its case', () => {
    expect(commonPasswords.test('password123')).toBe(true);

    expect(passwordProblem('password123')).toBe('is too common; choose another');
    expect(passwordProblem('PassWord123')).toBe('is too common; choose another');
  });
});

describe('createValidationPipe', () => {
  const pipe = createValidationPipe();
  const body = (metatype: ArgumentMetadata['metatype']): ArgumentMetadata => ({ type: 'body', metatype });
  const valid = { email: 'ada@example.com', password: 'correct-horse-battery-staple', name: 'Ada Lovelace' };

  async function rejection(value: unknown, metatype: ArgumentMetadata['metatype'] = RegisterDto): Promise<AppError> {
    return rejectionOf(value, body(metatype));
  }

  async function rejectionOf(value: unknown, metadata: ArgumentMetadata): Promise<AppError> {
    const error: unknown = await pipe.transform(value, metadata).then(
      () => undefined,
      (thrown: unknown) => thrown,
    );
    expect(error).toBeInstanceOf(AppError);
    return error as AppError;
  }

  it('passes a valid body, normalized', async () => {
    const dto = (await pipe.transform({ ...valid, email: '  Ada@Example.COM ', name: '  Ada  ' }, body(RegisterDto))) as RegisterDto;

    expect(dto).toBeInstanceOf(RegisterDto);
    expect(dto).toMatchObject({ email: 'ada@example.com', name: 'Ada', password: valid.password });
  });

  it('rejects an unknown field with "is not allowed"', async () => {
    const error = await rejection({ ...valid, role: 'admin' });

    expect(error.code).toBe('VALIDATION_FAILED');
    expect(error.status).toBe(400);
    expect(error.errors).toEqual([{ field: 'role', message: 'is not allowed' }]);
  });

  it('reports each bad field once, with the field named apart from the message', async () => {
    const error = await rejection({ email: 'nope', password: 'password123', name: '   ', mobile: '0791 112' });

    const fields = error.errors?.map((e) => e.field).sort();
    expect(fields).toEqual(['email', 'mobile', 'name', 'password']);
    const byField = Object.fromEntries(error.errors!.map((e) => [e.field, e.message]));
    expect(byField).toMatchObject({
      password: 'is too common; choose another',
      name: 'must not be empty',
      mobile: 'must be an E.164 phone number such as +447911123456',
    });
    for (const { field, message } of error.errors!) expect(message.startsWith(`${field} `)).toBe(false);
  });

  // BUG (src/core/http/validation.ts, flatten): `message.replace(`${error.property} `, '')` deletes the
  // property name wherever it first occurs, not only as a prefix, so the custom message
  // "must be an email address" reaches clients as "must be an address".
  it('keeps a custom message that mentions its own field name intact', async () => {
    const error = await rejection({ ...valid, email: 'nope' });

    expect(error.errors).toEqual([{ field: 'email', message: 'must be an email address' }]);
  });

  it('reports a wrongly typed field with its type only, not its length or format', async () => {
    const error = await rejection({ ...valid, email: 42, name: ['Ada'] });

    expect(error.errors).toEqual([
      { field: 'email', message: 'must be a string' },
      { field: 'name', message: 'must be a string' },
    ]);
  });

  it('reports each missing required field once, as required', async () => {
    const login = await rejection({}, LoginDto);
    const register = await rejection({}, RegisterDto);
    const refresh = await rejection({}, RefreshDto);

    expect(login.errors).toEqual([
      { field: 'email', message: 'is required' },
      { field: 'password', message: 'is required' },
    ]);
    // mobile is optional: not named.
    expect(register.errors).toEqual(['email', 'password', 'name'].map((field) => ({ field, message: 'is required' })));
    // RefreshDto stacks MaxLength above IsString: the order of decorators does not choose the message.
    expect(refresh.errors).toEqual([{ field: 'refreshToken', message: 'is required' }]);
  });

  it('reports null for a required field by its type, and a length before a format', async () => {
    const error = await rejection({ ...valid, email: `${'a'.repeat(250)}@nope`, name: null });

    expect(error.errors).toEqual([
      { field: 'email', message: 'must be shorter than or equal to 254 characters' },
      { field: 'name', message: 'must be a string' },
    ]);
  });

  it('reports a too long refresh token by its length', async () => {
    const error = await rejection({ refreshToken: 'x'.repeat(513) }, RefreshDto);

    expect(error.errors).toEqual([{ field: 'refreshToken', message: 'must be shorter than or equal to 512 characters' }]);
  });

  it('does not judge a password being checked by the policy', async () => {
    const dto = (await pipe.transform({ email: 'ada@example.com', password: 'short' }, body(LoginDto))) as LoginDto;

    expect(dto.password).toBe('short');
  });

  it('allows a null mobile', async () => {
    const dto = (await pipe.transform({ ...valid, mobile: null }, body(RegisterDto))) as RegisterDto;

    expect(dto.mobile).toBeNull();
  });

  // PostgreSQL cannot store NUL in text or jsonb: such a string failed its INSERT, a 500 whose log held the query's parameters.
  it('refuses a NUL character in any string of the body, naming each field', async () => {
    const error = await rejection({ ...valid, name: 'Ada\u0000Lovelace', password: '\u0000correct-horse-battery-staple' });

    expect(error).toMatchObject({ code: 'VALIDATION_FAILED', status: 400, detail: 'The request has invalid fields.' });
    expect(error.errors).toEqual([
      { field: 'name', message: 'must not contain a NUL character' },
      { field: 'password', message: 'must not contain a NUL character' },
    ]);
  });

  it('refuses a NUL character in nested values, array items and keys, and before any other rule', async () => {
    const error = await rejection({ ...valid, extra: { list: ['fine', 'bad\u0000'], 'key\u0000': 'x' } });

    expect(error.errors).toEqual([
      { field: 'extra.key\\u0000', message: 'must not contain a NUL character' },
      { field: 'extra.list.1', message: 'must not contain a NUL character' },
    ]);
  });

  it('refuses a NUL character in query strings and route parameters, and in a body that is a bare string', async () => {
    const query = await rejectionOf({ q: 'ada\u0000' }, { type: 'query', metatype: Object });
    const param = await rejectionOf('\u0000', { type: 'param', data: 'id', metatype: String });
    const bare = await rejectionOf('\u0000', { type: 'body', metatype: String });

    expect(query.errors).toEqual([{ field: 'q', message: 'must not contain a NUL character' }]);
    expect(param.errors).toEqual([{ field: 'id', message: 'must not contain a NUL character' }]);
    expect(bare.errors).toEqual([{ field: 'body', message: 'must not contain a NUL character' }]);
  });

  it('leaves custom parameters (the signed-in user) alone, and passes other control characters to the DTO rules', async () => {
    const user = { userId: 'u\u0000' };

    await expect(pipe.transform(user, { type: 'custom', metatype: Object })).resolves.toBe(user);
    const dto = (await pipe.transform({ ...valid, name: 'Ada\tLovelace' }, body(RegisterDto))) as RegisterDto;
    expect(dto.name).toBe('Ada\tLovelace');
  });

  it('survives a deeply nested body', async () => {
    let nested: unknown = 'deep\u0000';
    for (let level = 0; level < 20_000; level += 1) nested = [nested];

    const error = await rejection({ ...valid, extra: nested });

    expect(error.errors).toHaveLength(1);
    expect(error.errors![0]!.field).toMatch(/^extra(\.0)+$/);
  });
});

describe('fieldErrors', () => {
  const failure = (property: string, value: unknown, constraints: Record<string, string>, children: ValidationError[] = []): ValidationError =>
    Object.assign(new ValidationError(), { property, value, constraints, children });

  it('gives one message per field: missing first, then the type, then length, then format, whatever order the rules failed in', () => {
    expect(
      fieldErrors([
        failure('a', undefined, { maxLength: 'a must be shorter than or equal to 9 characters', isString: 'a must be a string' }),
        failure('b', null, { minLength: 'b must be longer', isString: 'b must be a string' }),
        failure('c', 7, { matches: 'c must match', maxLength: 'c must be shorter', isString: 'c must be a string' }),
        failure('d', 'x'.repeat(20), { isEmail: 'must be an email address', maxLength: 'd must be shorter than or equal to 9 characters' }),
        failure('e', 'x', { isEmail: 'must be an email address', isIn: 'e must be one of the following values: y' }),
        failure('f', 'x', { whitelistValidation: 'property f should not exist' }),
      ]),
    ).toEqual([
      { field: 'a', message: 'is required' },
      { field: 'b', message: 'must be a string' },
      { field: 'c', message: 'must be a string' },
      { field: 'd', message: 'must be shorter than or equal to 9 characters' },
      { field: 'e', message: 'must be an email address' },
      { field: 'f', message: 'is not allowed' },
    ]);
  });

  it('names nested fields by their path, and leaves out a parent without a rule of its own', () => {
    expect(fieldErrors([failure('outer', {}, {}, [failure('inner', undefined, { isString: 'inner must be a string' })])])).toEqual([
      { field: 'outer.inner', message: 'is required' },
    ]);
  });

  it('never sends the value it judged', () => {
    expect(JSON.stringify(fieldErrors([failure('token', 'secret-value', { maxLength: 'token must be shorter than or equal to 9 characters' })]))).not.toContain(
      'secret-value',
    );
  });
});

describe('UuidParam', () => {
  it('turns a non-UUID id into a field error', async () => {
    const error: unknown = await UuidParam.transform('not-a-uuid', { type: 'param', data: 'id' }).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(AppError);
    expect(error).toMatchObject({ code: 'VALIDATION_FAILED', status: 400, errors: [{ field: 'id', message: 'must be a UUID' }] });
  });

  it('passes a UUID', async () => {
    const id = '3f1c2a4e-8d5b-4b7a-9c1e-2f6d8a9b0c1d';

    await expect(UuidParam.transform(id, { type: 'param', data: 'id' })).resolves.toBe(id);
  });
});
