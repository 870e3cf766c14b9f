import { ApiProperty } from '@nestjs/swagger';
import { ArrayMaxSize, IsIn, IsUUID, Matches, MaxLength, MinLength } from 'class-validator';

import { identifier, toJsonSchema, withValidationConstraints } from './asyncapi.js';

describe('toJsonSchema (OpenAPI 3.0 → AsyncAPI 3 / JSON Schema)', () => {
  it('turns a nullable typed schema into a type union with null, and its example into examples', () => {
    expect(toJsonSchema({ type: 'string', format: 'date-time', nullable: true, example: '2026-01-01T00:00:00.000Z' })).toEqual({
      type: ['string', 'null'],
      format: 'date-time',
      examples: ['2026-01-01T00:00:00.000Z'],
    });
  });

  it('lets a nullable enum list null too, or it would still refuse it', () => {
    expect(toJsonSchema({ type: 'string', enum: ['a', 'b'], nullable: true })).toEqual({ type: ['string', 'null'], enum: ['a', 'b', null] });
  });

  it('wraps a nullable schema without a type in oneOf with null, keeping its annotations outside', () => {
    expect(toJsonSchema({ nullable: true, description: 'The user', allOf: [{ $ref: '#/components/schemas/UserResponse' }] })).toEqual({
      description: 'The user',
      oneOf: [{ allOf: [{ $ref: '#/components/schemas/UserResponse' }] }, { type: 'null' }],
    });
  });

  it('keeps $refs to #/components/schemas, which mean the same in AsyncAPI, and drops their OpenAPI siblings', () => {
    const withSibling = { $ref: '#/components/schemas/UserResponse', description: 'ignored by OpenAPI 3.0' };
    expect(toJsonSchema(withSibling)).toEqual({ $ref: '#/components/schemas/UserResponse' });
  });

  it('converts nested schemas: properties, items, additionalProperties, allOf/oneOf/anyOf, not', () => {
    const converted = toJsonSchema({
      type: 'object',
      required: ['ids'],
      properties: {
        ids: { type: 'array', items: { type: 'string', format: 'uuid', nullable: true } },
        extra: { type: 'object', additionalProperties: { type: 'integer', nullable: true } },
        either: { oneOf: [{ type: 'string', example: 'x' }, { $ref: '#/components/schemas/A' }] },
        both: { allOf: [{ type: 'object', nullable: true }] },
        some: { anyOf: [{ type: 'number', example: 1 }] },
        never: { not: { type: 'string', nullable: true } },
      },
    });
    expect(converted).toEqual({
      type: 'object',
      required: ['ids'],
      properties: {
        ids: { type: 'array', items: { type: ['string', 'null'], format: 'uuid' } },
        extra: { type: 'object', additionalProperties: { type: ['integer', 'null'] } },
        either: { oneOf: [{ type: 'string', examples: ['x'] }, { $ref: '#/components/schemas/A' }] },
        both: { allOf: [{ type: ['object', 'null'] }] },
        some: { anyOf: [{ type: 'number', examples: [1] }] },
        never: { not: { type: ['string', 'null'] } },
      },
    });
  });

  it('makes boolean exclusive bounds numeric, a discriminator object its property name, and drops xml', () => {
    expect(
      toJsonSchema({
        type: 'number',
        minimum: 0,
        exclusiveMinimum: true,
        maximum: 10,
        exclusiveMaximum: false,
        xml: { name: 'n' },
      }),
    ).toEqual({ type: 'number', exclusiveMinimum: 0, maximum: 10 });
    expect(toJsonSchema({ oneOf: [], discriminator: { propertyName: 'valid', mapping: {} } })).toEqual({ oneOf: [], discriminator: 'valid' });
  });

  it('keeps OpenAPI named examples as a list of values, and an explicit example of null', () => {
    expect(toJsonSchema({ type: 'string', examples: { one: { value: 'a' }, two: { value: 'b' } } })).toEqual({ type: 'string', examples: ['a', 'b'] });
    expect(toJsonSchema({ type: 'string', nullable: true, example: null })).toEqual({ type: ['string', 'null'], examples: [null] });
  });

  it('does not change the schema it is given', () => {
    const source = { type: 'object', properties: { a: { type: 'string', nullable: true } } };
    const copy = structuredClone(source);
    toJsonSchema(source);
    expect(source).toEqual(copy);
  });
});

describe('withValidationConstraints', () => {
  class Sample {
    @ApiProperty() @MinLength(1) @MaxLength(40) @Matches(/^[a-z]+$/) name!: string;
    @ApiProperty({ maxLength: 10 }) @MaxLength(20) code!: string;
    @ApiProperty() @Matches(/^[a-z]+$/i) loose!: string;
    @ApiProperty({ type: [String] }) @ArrayMaxSize(5) @IsUUID('all', { each: true }) ids!: string[];
    @ApiProperty() @IsIn(['a', 'b']) kind!: string;
    @ApiProperty({ type: Number }) @MaxLength(3) count!: number;
  }
  const schema = {
    type: 'object',
    properties: {
      name: { type: 'string' },
      code: { type: 'string', maxLength: 10 },
      loose: { type: 'string' },
      ids: { type: 'array', items: { type: 'string' } },
      kind: { type: 'string' },
      count: { type: 'number' },
    },
  };

  it('adds what the validators enforce and the @ApiProperty options leave out', () => {
    const enriched = withValidationConstraints(schema, Sample).properties as Record<string, unknown>;
    expect(enriched.name).toEqual({ type: 'string', minLength: 1, maxLength: 40, pattern: '^[a-z]+$' });
    expect(enriched.ids).toEqual({ type: 'array', maxItems: 5, items: { type: 'string', format: 'uuid' } });
    expect(enriched.kind).toEqual({ type: 'string', enum: ['a', 'b'] });
  });

  it('keeps what @ApiProperty says, skips patterns with flags and constraints of another type', () => {
    const enriched = withValidationConstraints(schema, Sample).properties as Record<string, unknown>;
    expect(enriched.code).toEqual({ type: 'string', maxLength: 10 });
    expect(enriched.loose).toEqual({ type: 'string' });
    expect(enriched.count).toEqual({ type: 'number' });
    expect(schema.properties.name).toEqual({ type: 'string' });
  });
});

describe('identifier', () => {
  it.each([
    ['users.get_many', 'usersGetMany'],
    ['user.email_verification_requested', 'userEmailVerificationRequested'],
    ['auth.verify_token', 'authVerifyToken'],
    ['user-service.dead-letter', 'userServiceDeadLetter'],
  ])('%s → %s', (name, expected) => expect(identifier(name)).toBe(expected));
});
