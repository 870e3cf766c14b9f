import * as fc from 'fast-check';

import type { Operation, Parameter, Schema } from './openapi.js';
import { type Credential, CREDENTIALS, RelativeDate, Sym, type SymName } from './principals.js';

/**
 * Requests generated from an operation's own schemas: valid values, boundary
 * values, wrong types, missing required and unknown fields, hostile strings,
 * deeply nested and oversized bodies, wrong content types, bad path ids and
 * query strings, and every kind of credential. A request is data (RequestSpec),
 * with ids and credentials as symbols, so fast-check can print, replay and
 * shrink it; send.ts turns it into an HTTP request.
 */

export const FACETS = ['schema', 'transport', 'path', 'auth'] as const;
export type Facet = (typeof FACETS)[number];

export type PathValue = { value: unknown } | { encoded: string; label: string };

export type BodySpec =
  | { kind: 'absent'; label: string }
  | { kind: 'value'; value: unknown; encoding: 'json' | 'form' | 'multipart'; contentType?: string; label: string }
  | { kind: 'raw'; payload: string; contentType?: string; latin1?: boolean; label: string };

export interface RequestSpec {
  facet: Facet;
  credential: Credential;
  /** Picks among the variants of a malformed or unknown credential. */
  credentialPick: number;
  path: Record<string, PathValue>;
  /** Appended to the path: '' for the documented route. */
  pathSuffix: string;
  query: { pairs: [string, unknown][] } | { raw: string; label: string };
  headers: Record<string, unknown>;
  body: BodySpec;
  /** What was done to the valid request, for the report. */
  labels: string[];
}

// ---------------------------------------------------------------- strings

/** [category, string]: the category names the class of input in the report. */
const HOSTILE_CONSTANTS: [string, string][] = [
  ['NUL', '\u0000'],
  ['NUL', 'ada\u0000@example.com'],
  ['NUL', 'Ada\u0000Lovelace'],
  ['lone surrogate', '\uD800'],
  ['lone surrogate', 'x\uDC00y'],
  ['lone surrogate', 'Ada \uDBFF\uDBFF'],
  ['noncharacter', '\uFFFF\uFFFE'],
  ['bidi', '\u202Egnp.exe'],
  ['zero-width', '\u200B\u200D\uFEFF'],
  ['SQL', "' OR '1'='1"],
  ['SQL', "'; DROP TABLE users; --"],
  ['SQL', 'SELECT password_hash FROM users WHERE 1=1'],
  ['SQL', "1' UNION SELECT NULL, NULL--"],
  ['SQL', 'ada%\' AND 1=1 --'],
  ['HTML', '<script>alert(1)</script>'],
  ['HTML', '"><img src=x onerror=alert(1)>'],
  ['HTML', '&lt;&#0;&amp;&#x0;'],
  ['template', '${jndi:ldap://x/a}'],
  ['template', '{{7*7}}<%= 7*7 %>'],
  ['format', '%s%s%n%x%%'],
  ['path', '../../etc/passwd'],
  ['path', '..\\..\\windows\\win.ini'],
  ['CRLF', 'a\r\nSet-Cookie: x=1'],
  ['control', '\u0001\u0007\u001b[31m\u007f'],
  ['whitespace', ' '],
  ['whitespace', '\t\n\r'],
  ['empty', ''],
  ['unicode', 'Ågård Ærø Œuvre'],
  ['unicode', 'İstanbul ß ǅ ﬃ'],
  ['unicode', '😀🙂👩‍👩‍👧'],
  ['unicode', 'e\u0301\u0301\u0301\u0301'],
  ['unicode', '𝔘𝔫𝔦𝔠𝔬𝔡𝔢'],
  ['unicode', 'مرحبا שלום'],
  ['unicode', '漢字かなカナ'],
  ['JSON-ish', '{"$gt":""}'],
  ['JSON-ish', 'null'],
  ['JSON-ish', 'true'],
  ['number-ish', '1e309'],
  ['number-ish', '-0'],
  ['number-ish', 'NaN'],
  ['prototype', '__proto__'],
  ['prototype', 'constructor'],
  ['email-ish', 'a@b'],
  ['email-ish', '"a b"@example.com'],
  ['email-ish', ' ADA@EXAMPLE.COM '],
  ['email-ish', 'a@[127.0.0.1]'],
  ['email-ish', 'ada@example.com\u0000'],
];

const LONG_LENGTHS = [101, 129, 255, 256, 513, 1025, 4097, 10_000, 17_000];

export const hostileString: fc.Arbitrary<[string, string]> = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom(...HOSTILE_CONSTANTS) },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }).map((s): [string, string] => ['random code points', s]) },
  { weight: 1, arbitrary: fc.string({ unit: 'grapheme', maxLength: 40 }).map((s): [string, string] => ['random graphemes', s]) },
  {
    weight: 2,
    arbitrary: fc
      .tuple(fc.constantFrom(...LONG_LENGTHS), fc.constantFrom('a', 'é', '😀', ' ', '\u0000', "'"))
      .map(([n, c]): [string, string] => [`long (${n})`, c.repeat(n)]),
  },
  {
    weight: 2,
    arbitrary: fc
      .tuple(fc.constantFrom(...HOSTILE_CONSTANTS), fc.string({ maxLength: 12 }))
      .map(([[category, s], t]): [string, string] => [category, `${t}${s}${t}`]),
  },
);

/** Lone surrogates replaced by U+FFFD, as a UTF-8 encoder (and so PostgreSQL) sees them (String#toWellFormed is ES2024). */
export const wellFormed = (s: string) => s.replace(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, '\uFFFD');

/** Printable ASCII only: what a header can carry. */
const headerSafe = (s: string) => s.replace(/[^\x20-\x7e]/g, '');

// ---------------------------------------------------------------- values from schemas

const UUID_SYMS: SymName[] = ['user.id', 'admin.id', 'bystander.id', 'apiKey.id', 'user.otherSessionId', 'user.sessionId'];

/** Seeded values a field can be given: ids by format, credentials by format or name. */
function hints(schema: Schema, name: string): fc.Arbitrary<unknown>[] {
  const syms: SymName[] = [];
  if (schema.format === 'uuid' || /^id$|Id$/.test(name)) syms.push(...UUID_SYMS);
  if (schema.format === 'email') syms.push('user.email', 'admin.email');
  if (schema.format === 'password') syms.push('user.password');
  if (/refresh/i.test(name)) syms.push('user.otherRefreshToken');
  return syms.length ? [fc.constantFrom(...syms).map((s) => new Sym(s))] : [];
}

const email = (maxLength = 254) =>
  fc
    .tuple(fc.stringMatching(/^[a-z0-9]{3,16}$/), fc.constantFrom('example.com', 'example.org', 'mail.example.net'))
    .map(([local, domain]) => `fz-${local}@${domain}`.slice(-maxLength));

const strongPassword = (min = 8, max = 128) =>
  fc
    .tuple(fc.stringMatching(/^[A-Za-z]{4,24}$/), fc.integer({ min: 0, max: 99_999 }))
    .map(([letters, n]) => {
      const password = `Fz-${letters}-${n}!`;
      return password.length < min ? password.padEnd(min, 'x7') : password.slice(0, Math.max(min, max));
    });

function stringValue(schema: Schema): fc.Arbitrary<unknown> {
  switch (schema.format) {
    case 'uuid':
      return fc.uuid();
    case 'email':
      return email(schema.maxLength);
    case 'password':
      return strongPassword(schema.minLength, schema.maxLength);
    case 'date-time':
      // Mostly ahead (expiries, suspensions), sometimes past: both are what the schema allows.
      return fc.oneof(
        { weight: 4, arbitrary: fc.integer({ min: 3_600, max: 200 * 86_400 }).map((s) => new RelativeDate(s)) },
        { weight: 1, arbitrary: fc.integer({ min: -400 * 86_400, max: 400 * 86_400 }).map((s) => new RelativeDate(s)) },
      );
  }
  if (schema.pattern) return fc.stringMatching(new RegExp(schema.pattern));
  const minLength = schema.minLength ?? 0;
  return fc.string({ unit: 'grapheme-ascii', minLength: Math.max(minLength, 1), maxLength: Math.max(Math.min(schema.maxLength ?? 24, 40), minLength, 1) });
}

function typedValue(schema: Schema, name: string, depth: number): fc.Arbitrary<unknown> {
  switch (schema.type) {
    case 'string':
      return stringValue(schema);
    case 'integer':
    case 'number':
      return fc.integer({ min: schema.minimum ?? -1_000_000, max: schema.maximum ?? 1_000_000 });
    case 'boolean':
      return fc.boolean();
    case 'array': {
      const items = validValue(schema.items ?? {}, name, depth + 1);
      const constraints = { minLength: schema.minItems ?? 0, maxLength: Math.max(Math.min(schema.maxItems ?? 4, 5), schema.minItems ?? 0) };
      return schema.uniqueItems ? fc.uniqueArray(items, { ...constraints, selector: (v) => JSON.stringify(v) }) : fc.array(items, constraints);
    }
    case 'object':
    case undefined:
      if (schema.properties) return objectValue(schema, depth);
      if (schema.type === 'object') return fc.oneof(fc.constant({}), fc.dictionary(fc.stringMatching(/^[a-z]{1,8}$/), fc.string({ maxLength: 8 }), { maxKeys: 2 }));
      return fc.jsonValue({ maxDepth: 2 });
    default:
      return fc.jsonValue({ maxDepth: 1 });
  }
}

/** A value the schema allows, mixed with the schema's example and the seeded ids and credentials. */
export function validValue(schema: Schema, name = '', depth = 0): fc.Arbitrary<unknown> {
  if (depth > 8) return fc.constant(null);
  if (schema.enum?.length) return fc.constantFrom(...schema.enum);
  const choices: fc.WeightedArbitrary<unknown>[] = [{ weight: 4, arbitrary: typedValue(schema, name, depth) }];
  // The example even where it disagrees with the type: a mismatch between the two is what the fuzz should find.
  if (schema.example !== undefined) choices.push({ weight: 2, arbitrary: fc.constant(schema.example) });
  for (const hint of hints(schema, name)) choices.push({ weight: 6, arbitrary: hint });
  if (schema.nullable) choices.push({ weight: 1, arbitrary: fc.constant(null) });
  return fc.oneof(...choices);
}

function objectValue(schema: Schema, depth: number): fc.Arbitrary<Record<string, unknown>> {
  const properties = schema.properties ?? {};
  const model = Object.fromEntries(Object.entries(properties).map(([key, property]) => [key, validValue(property, key, depth + 1)]));
  return fc.record(model, { requiredKeys: (schema.required ?? []).filter((key) => key in properties) as never[] }) as fc.Arbitrary<
    Record<string, unknown>
  >;
}

// ---------------------------------------------------------------- invalid values

const WRONG_TYPES: unknown[] = [42, -1, 0, 1.5, 1e308, true, false, null, '', 'text', [], ['a'], {}, { a: 1 }, [[]], [null]];

export const nestArrays = (depth: number, leaf: unknown = 1) => {
  let value = leaf;
  for (let i = 0; i < depth; i += 1) value = [value];
  return value;
};
export const nestObjects = (depth: number, leaf: unknown = 1) => {
  let value = leaf;
  for (let i = 0; i < depth; i += 1) value = { a: value };
  return value;
};

/** Values at and just past the schema's limits. */
function boundaryValues(schema: Schema, name: string): fc.Arbitrary<[string, unknown]> {
  const choices: fc.Arbitrary<[string, unknown]>[] = [];
  if (schema.enum?.length) {
    const first = String(schema.enum[0]);
    choices.push(fc.constantFrom<[string, unknown]>(['enum upper-case', first.toUpperCase()], ['enum padded', ` ${first} `], ['enum other', 'other'], ['enum empty', '']));
  }
  if (schema.type === 'string' || schema.format) {
    const lengths = new Set<number>();
    const min = schema.minLength ?? 0;
    lengths.add(Math.max(0, min - 1)).add(min);
    if (schema.maxLength !== undefined) lengths.add(schema.maxLength).add(schema.maxLength + 1);
    else lengths.add(300).add(5_000);
    choices.push(
      fc.tuple(fc.constantFrom(...lengths), fc.constantFrom('a', 'é', '😀', ' ', '\u0301', '7')).map(([n, c]): [string, unknown] => {
        const value = schema.format === 'email' && n > 12 ? `${c.repeat(Math.max(1, n - 12))}@example.com` : c.repeat(n);
        return [`length ${n} of ${JSON.stringify(c)}`, value];
      }),
    );
  }
  if (schema.type === 'integer' || schema.type === 'number') {
    const min = schema.minimum ?? 0;
    const max = schema.maximum ?? 1_000;
    choices.push(fc.constantFrom<[string, unknown]>(['min', min], ['max', max], ['min-1', min - 1], ['max+1', max + 1], ['fraction', min + 0.5], ['2^31', 2 ** 31], ['2^53+1', 2 ** 53 + 1], ['-0', -0]));
  }
  if (schema.type === 'array') {
    const item = validValue(schema.items ?? {}, name);
    const min = schema.minItems ?? 0;
    const lengths = [Math.max(0, min - 1), min, (schema.maxItems ?? 10) + 1, 1_000];
    if (schema.maxItems !== undefined) lengths.push(schema.maxItems);
    choices.push(fc.tuple(fc.constantFrom(...lengths), item).map(([n, v]): [string, unknown] => [`${n} items`, Array.from({ length: n }, () => v)]));
  }
  return choices.length ? fc.oneof(...choices) : fc.constant<[string, unknown]>(['empty string', '']);
}

type Mutation = { label: string; apply: (body: Record<string, unknown>) => Record<string, unknown> };

const UNKNOWN_KEYS = ['role', 'status', 'emailVerified', 'isAdmin', 'id', 'passwordHash', 'extra', '__proto__', 'constructor', '', ' email', 'Email'];

function mutations(schema: Schema): fc.Arbitrary<Mutation> {
  const properties = schema.properties ?? {};
  const keys = Object.keys(properties);
  const required = (schema.required ?? []).filter((key) => key in properties);
  const choices: fc.Arbitrary<Mutation>[] = [
    fc
      .tuple(fc.oneof(fc.constantFrom(...UNKNOWN_KEYS), fc.stringMatching(/^[a-z][A-Za-z0-9]{0,15}$/)), fc.jsonValue({ maxDepth: 2 }))
      .map(([key, value]) => ({
        label: `unknown field ${JSON.stringify(key)}`,
        apply: (body) => {
          const copy = { ...body };
          Object.defineProperty(copy, key, { value, enumerable: true, configurable: true, writable: true });
          return copy;
        },
      })),
  ];
  if (required.length) {
    choices.push(
      fc.constantFrom(...required).map((key) => ({
        label: `missing required ${key}`,
        apply: (body) => Object.fromEntries(Object.entries(body).filter(([k]) => k !== key)),
      })),
    );
  }
  if (keys.length) {
    const key = fc.constantFrom(...keys);
    choices.push(
      fc.tuple(key, fc.constantFrom(...WRONG_TYPES)).map(([k, value]) => ({ label: `wrong type ${k}=${JSON.stringify(value)}`, apply: (body) => ({ ...body, [k]: value }) })),
      fc.tuple(key, hostileString).map(([k, [category, value]]) => ({ label: `hostile ${k} (${category})`, apply: (body) => ({ ...body, [k]: value }) })),
      key.chain((k) =>
        boundaryValues(properties[k]!, k).map(([what, value]) => ({ label: `boundary ${k} (${what})`, apply: (body: Record<string, unknown>) => ({ ...body, [k]: value }) })),
      ),
      fc.tuple(key, fc.integer({ min: 20, max: 300 }), fc.boolean()).map(([k, depth, arrays]) => ({
        label: `nested ${k} (${depth} levels of ${arrays ? 'arrays' : 'objects'})`,
        apply: (body) => ({ ...body, [k]: arrays ? nestArrays(depth) : nestObjects(depth) }),
      })),
      fc.tuple(key, fc.constantFrom<SymName>('user.password', 'user.email', 'user.id', 'user.otherRefreshToken')).map(([k, sym]) => ({
        label: `${k}=<${sym}>`,
        apply: (body) => ({ ...body, [k]: new Sym(sym) }),
      })),
    );
  }
  return fc.oneof(...choices);
}

const WHOLE_BODIES: [string, unknown][] = [
  ['body []', []],
  ['body [{}]', [{}]],
  ['body string', 'text'],
  ['body number', 42],
  ['body null', null],
  ['body true', true],
  ['body {}', {}],
];

/** A JSON body: valid, or mutated one to three times, or not an object at all. */
function schemaBody(schema: Schema): fc.Arbitrary<BodySpec> {
  const valid = validValue(schema, 'body');
  if (!schema.properties) {
    return valid.map((value): BodySpec => ({ kind: 'value', value, encoding: 'json', contentType: 'application/json', label: 'json' }));
  }
  return fc.oneof(
    { weight: 3, arbitrary: valid.map((value): BodySpec => ({ kind: 'value', value, encoding: 'json', contentType: 'application/json', label: 'valid json' })) },
    {
      weight: 8,
      arbitrary: fc.tuple(valid, fc.array(mutations(schema), { minLength: 1, maxLength: 3 })).map(([value, applied]): BodySpec => ({
        kind: 'value',
        value: applied.reduce((body, m) => m.apply(body), value as Record<string, unknown>),
        encoding: 'json',
        contentType: 'application/json',
        label: applied.map((m) => m.label).join(' + '),
      })),
    },
    {
      weight: 1,
      arbitrary: fc.constantFrom(...WHOLE_BODIES).map(([label, value]): BodySpec => ({ kind: 'value', value, encoding: 'json', contentType: 'application/json', label })),
    },
  );
}

// ---------------------------------------------------------------- transport

const deepArrays = (depth: number) => `${'['.repeat(depth)}${']'.repeat(depth)}`;
const deepObjects = (depth: number) => `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;

/** Bodies as bytes: other content types, none, broken or deeply nested JSON, oversized ones. */
function transportBody(validBody: fc.Arbitrary<unknown>, keys: string[]): fc.Arbitrary<BodySpec> {
  const key = keys.length ? fc.constantFrom(...keys) : fc.constant('a');
  const encoded = (encoding: 'json' | 'form' | 'multipart', contentType: string | undefined, label: string) =>
    validBody.map((value): BodySpec => ({ kind: 'value', value, encoding, contentType, label }));
  const raw = (payload: string, contentType: string | undefined, label: string, latin1 = false): BodySpec => ({ kind: 'raw', payload, contentType, label, latin1 });
  return fc.oneof(
    encoded('json', 'text/plain', 'JSON sent as text/plain'),
    encoded('json', undefined, 'JSON without Content-Type'),
    encoded('form', 'application/x-www-form-urlencoded', 'form-urlencoded body'),
    encoded('multipart', 'multipart/form-data; boundary=fuzzBoundary', 'multipart body'),
    encoded('json', 'application/json; charset=utf-8', 'JSON with charset'),
    encoded('json', 'application/xml', 'JSON sent as application/xml'),
    encoded('json', 'application/octet-stream', 'JSON sent as octet-stream'),
    encoded('json', 'text/html; charset=utf-8', 'JSON sent as text/html'),
    encoded('json', 'application/x-www-form-urlencoded', 'JSON sent as form-urlencoded'),
    fc.constantFrom(
      raw('<user><email>a@b.co</email></user>', 'application/xml', 'XML body'),
      raw('hello', 'text/plain', 'text body'),
      raw('hello', undefined, 'text without Content-Type'),
      raw('', 'application/json', 'empty JSON body'),
      raw('{"email":', 'application/json', 'truncated JSON'),
      raw('{"a":1,}', 'application/json', 'trailing comma'),
      raw("{'a':1}", 'application/json', 'single-quoted JSON'),
      raw('nul', 'application/json', 'bad literal'),
      raw('{"a":"\\ud800"}', 'application/json', 'escaped lone surrogate'),
      raw('{"a":"\\u0000"}', 'application/json', 'escaped NUL'),
      raw('{"__proto__":{"isAdmin":true}}', 'application/json', '__proto__ key'),
      raw('{"constructor":{"prototype":{"isAdmin":true}}}', 'application/json', 'constructor.prototype key'),
      raw('{"a":"\xff\xfe\xc3\x28"}', 'application/json', 'invalid UTF-8', true),
      raw(`{"a":${'9'.repeat(400)}}`, 'application/json', 'huge number'),
      raw('\u0000', 'application/json', 'NUL byte body'),
    ),
    fc.tuple(fc.integer({ min: 1_000, max: 8_000 }), fc.boolean()).map(([depth, arrays]) =>
      raw(arrays ? deepArrays(depth) : deepObjects(Math.min(depth, 3_200)), 'application/json', `JSON ${depth} levels deep (${arrays ? 'arrays' : 'objects'})`),
    ),
    fc.tuple(key, fc.integer({ min: 1_000, max: 3_000 }), fc.boolean()).map(([k, depth, arrays]) =>
      raw(`{${JSON.stringify(k)}:${arrays ? deepArrays(depth) : deepObjects(depth)}}`, 'application/json', `field ${k} ${depth} levels deep`),
    ),
    fc.tuple(key, fc.integer({ min: 16_000, max: 60_000 })).map(([k, n]) => raw(JSON.stringify({ [k]: 'x'.repeat(n) }), 'application/json', `oversized body (${n} bytes)`)),
    fc.integer({ min: 3_000, max: 20_000 }).map((n) => raw(JSON.stringify({ a: Array.from({ length: n }, () => 1) }), 'application/json', `array of ${n} items`)),
  );
}

// ---------------------------------------------------------------- path, query, headers

const PATH_GARBAGE: [string, string][] = [
  ['word', 'me'],
  ['word', 'abc'],
  ['number', '0'],
  ['number', '-1'],
  ['word', 'null'],
  ['word', 'undefined'],
  ['blank', '%20'],
  ['percent', '%'],
  ['percent', '%zz'],
  ['percent', '%E0%A4%A'],
  ['percent', '%ff'],
  ['percent', '%C0%AF'],
  ['percent', '%u0041'],
  ['percent', '%%'],
  ['NUL', '%00'],
  ['NUL', '3f1c2a4e-8d5b-4b7a-9c1e-2f6d8a9b0c1d%00'],
  ['dot', '..'],
  ['dot', '%2e%2e'],
  ['slash', '%2F'],
  ['slash', '%252F'],
  ['template', '{id}'],
  ['template', ':id'],
  ['wildcard', '*'],
  ['SQL', "'%20OR%20'1'='1"],
  ['HTML', '%3Cscript%3E'],
  ['separator', 'a;b'],
  ['separator', 'a,b'],
  ['uuid-ish', '3f1c2a4e-8d5b-4b7a-9c1e-2f6d8a9b0c1dx'],
  ['uuid-ish', '3F1C2A4E-8D5B-4B7A-9C1E-2F6D8A9B0C1D'],
  ['uuid-ish', '3f1c2a4e8d5b4b7a9c1e2f6d8a9b0c1d'],
  ['uuid-ish', '%7B3f1c2a4e-8d5b-4b7a-9c1e-2f6d8a9b0c1d%7D'],
  ['uuid-ish', '3f1c2a4e%2D8d5b%2D4b7a%2D9c1e%2D2f6d8a9b0c1d'],
  ['uuid-ish', '00000000-0000-0000-0000-000000000000'],
  ['unicode', '%C3%A9%F0%9F%98%80'],
];

/** Percent-encodes every code unit that is not unreserved, lone surrogates included (encodeURIComponent throws on them). */
export const encodeSegment = (value: string) =>
  wellFormed(value) === value ? encodeURIComponent(value) : [...value].map((c) => (wellFormed(c) === c ? encodeURIComponent(c) : '%ED%A0%80')).join('');

function pathValue(parameter: Parameter, garbageWeight: number): fc.Arbitrary<PathValue> {
  return fc.oneof(
    { weight: 4, arbitrary: validValue(parameter.schema ?? {}, parameter.name).map((value): PathValue => ({ value })) },
    { weight: garbageWeight, arbitrary: fc.constantFrom(...PATH_GARBAGE).map(([label, encoded]): PathValue => ({ encoded, label: `path ${label}` })) },
    {
      weight: garbageWeight,
      arbitrary: fc
        .tuple(fc.constantFrom(101, 257, 1_000, 5_000, 20_000, 100_000), fc.constantFrom('a', '%41', '-', '%'))
        .map(([n, c]): PathValue => ({ encoded: c.repeat(Math.ceil(n / c.length)), label: `path ${n} chars of ${c}` })),
    },
    { weight: garbageWeight, arbitrary: hostileString.map(([category, value]): PathValue => ({ encoded: encodeSegment(value), label: `path ${category}` })) },
  );
}

const PATH_SUFFIXES = ['/', '//', '/extra', '%', '/%zz', ';jsessionid=1', '/..', '.json', '%00', '%2F'];

/** A query parameter's value as a client sends it: the schema's value as text, or a wrong one. */
function queryValue(parameter: Parameter, invalidWeight: number): fc.Arbitrary<unknown> {
  const schema = parameter.schema ?? {};
  return fc.oneof(
    { weight: 4, arbitrary: validValue(schema, parameter.name) },
    { weight: invalidWeight, arbitrary: boundaryValues(schema, parameter.name).map(([, value]) => value) },
    { weight: invalidWeight, arbitrary: hostileString.map(([, value]) => value) },
    { weight: invalidWeight, arbitrary: fc.constantFrom<unknown>('abc', '', '1.5', '1e2', ' 1', '0x10', '-0', 'true', ['1', '2']) },
  );
}

function schemaQuery(parameters: Parameter[], invalidWeight: number): fc.Arbitrary<RequestSpec['query']> {
  if (!parameters.length) return fc.constant({ pairs: [] });
  // Optional parameters are mostly left out: one wrong one hides whether the others work.
  const absent = Symbol('absent');
  const model = Object.fromEntries(
    parameters.map((p) => [p.name, p.required ? queryValue(p, invalidWeight) : fc.oneof({ weight: 3, arbitrary: fc.constant(absent) }, { weight: 2, arbitrary: queryValue(p, invalidWeight) })]),
  );
  return fc
    .tuple(fc.record(model), fc.option(fc.tuple(fc.stringMatching(/^[a-z]{1,8}$/), fc.string({ maxLength: 8 })), { freq: 6 }))
    .map(([values, unknown]) => {
      const pairs: [string, unknown][] = Object.entries(values)
        .filter(([, v]) => v !== absent)
        .flatMap(([k, v]) => (Array.isArray(v) ? v.map((item): [string, unknown] => [k, item]) : [[k, v]]));
      if (unknown) pairs.push(unknown);
      return { pairs };
    });
}

const RAW_QUERIES = [
  '%zz',
  'a=%zz',
  'limit=%E0%A4%A',
  'limit=%00',
  'cursor=%ff%fe',
  '&&&',
  '=',
  '==&=',
  'a[b]=1',
  'limit[]=1',
  'limit[$gt]=1',
  '__proto__[isAdmin]=1',
  'constructor[prototype][isAdmin]=1',
  `q=${'x'.repeat(10_000)}`,
  `${'a=1&'.repeat(2_000)}a=1`,
  'status=active&status=blocked',
  'limit=1&limit=2',
  'q=%27%20OR%20%271%27%3D%271',
];

function headerParams(parameters: Parameter[]): fc.Arbitrary<Record<string, unknown>> {
  if (!parameters.length) return fc.constant({});
  const model = Object.fromEntries(
    parameters.map((p) => [
      p.name,
      fc.oneof(
        { weight: 4, arbitrary: fc.stringMatching(/^[A-Za-z0-9-]{8,40}$/) },
        { weight: 1, arbitrary: fc.constantFrom('', ' ', 'k'.repeat(300), 'k'.repeat(8_000)) },
        { weight: 1, arbitrary: hostileString.map(([, value]) => headerSafe(value)) },
      ),
    ]),
  );
  return fc.record(model, { requiredKeys: parameters.filter((p) => p.required).map((p) => p.name) as never[] }) as fc.Arbitrary<Record<string, unknown>>;
}

// ---------------------------------------------------------------- credentials and whole requests

/** The credential a legitimate caller of the operation would present. */
function fittingCredential(operation: Operation): fc.Arbitrary<Credential> {
  const { access } = operation;
  if (access.public) return fc.constant('none');
  if (access.adminOnly) return access.apiKey ? fc.constantFrom<Credential>('admin', 'apiKey') : fc.constant('admin');
  return access.apiKey ? fc.constantFrom<Credential>('user', 'admin', 'apiKey') : fc.constantFrom<Credential>('user', 'user', 'admin');
}

const anyCredential = fc.constantFrom(...CREDENTIALS);

function credential(operation: Operation, facet: Facet): fc.Arbitrary<Credential> {
  if (facet === 'auth') return anyCredential;
  return fc.oneof({ weight: 8, arbitrary: fittingCredential(operation) }, { weight: 1, arbitrary: anyCredential });
}

const validPath = (operation: Operation) =>
  fc.record(Object.fromEntries(operation.pathParams.map((p) => [p.name, validValue(p.schema ?? {}, p.name).map((value): PathValue => ({ value }))])));

const validBody = (operation: Operation): fc.Arbitrary<BodySpec> =>
  operation.body
    ? validValue(operation.body.schema, 'body').map((value): BodySpec => ({ kind: 'value', value, encoding: 'json', contentType: 'application/json', label: 'valid json' }))
    : fc.constant({ kind: 'absent', label: 'no body' });

/** The requests of one facet of an operation. */
export function requestsFor(operation: Operation, facet: Facet): fc.Arbitrary<RequestSpec> {
  const hasBodyMethod = operation.method !== 'GET';
  const bodySchema = operation.body?.schema;
  let path: fc.Arbitrary<Record<string, PathValue>> = validPath(operation);
  let pathSuffix: fc.Arbitrary<string> = fc.constant('');
  let query: fc.Arbitrary<RequestSpec['query']> = schemaQuery(operation.queryParams, 0);
  let body: fc.Arbitrary<BodySpec> = validBody(operation);
  const headers = headerParams(operation.headerParams);

  switch (facet) {
    case 'schema':
      path = fc.record(Object.fromEntries(operation.pathParams.map((p) => [p.name, pathValue(p, 1)])));
      query = schemaQuery(operation.queryParams, 2);
      if (bodySchema) body = schemaBody(bodySchema);
      else if (hasBodyMethod) {
        // No body documented: a JSON one is ignored or refused, never a reason to fail.
        body = fc.oneof(
          { weight: 3, arbitrary: fc.constant<BodySpec>({ kind: 'absent', label: 'no body' }) },
          { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 2 }).map((value): BodySpec => ({ kind: 'value', value, encoding: 'json', contentType: 'application/json', label: 'undocumented JSON body' })) },
        );
      }
      break;
    case 'transport':
      if (hasBodyMethod) {
        const valid = bodySchema ? validValue(bodySchema, 'body') : fc.constant<unknown>({ a: 'b' });
        body = transportBody(valid, Object.keys(bodySchema?.properties ?? {}));
      }
      break;
    case 'path':
      path = fc.record(Object.fromEntries(operation.pathParams.map((p) => [p.name, pathValue(p, 6)])));
      pathSuffix = fc.oneof({ weight: 3, arbitrary: fc.constant('') }, { weight: 1, arbitrary: fc.constantFrom(...PATH_SUFFIXES) });
      query = fc.oneof(
        { weight: 2, arbitrary: schemaQuery(operation.queryParams, 4) },
        { weight: 1, arbitrary: fc.constantFrom(...RAW_QUERIES).map((raw) => ({ raw, label: `query ${raw.length > 40 ? `${raw.slice(0, 20)}…(${raw.length})` : raw}` })) },
      );
      break;
    case 'auth':
      break;
  }

  return fc
    .record({ credential: credential(operation, facet), credentialPick: fc.nat(1_000), path, pathSuffix, query, headers, body })
    .map((parts): RequestSpec => {
      const labels: string[] = [`credential ${parts.credential}`];
      for (const value of Object.values(parts.path)) if ('encoded' in value) labels.push(value.label);
      if (parts.pathSuffix) labels.push(`path suffix ${JSON.stringify(parts.pathSuffix)}`);
      if ('raw' in parts.query) labels.push(parts.query.label);
      labels.push(parts.body.label);
      return { facet, ...parts, labels };
    });
}

// ---------------------------------------------------------------- the classes every run covers

/** One string of each hostile class, tried in every string field on every run, whatever the seed. */
const REPRESENTATIVE_HOSTILE: [string, string][] = [
  ['NUL', 'a\u0000b'],
  ['lone surrogate', 'x\uDC00y'],
  ['lone surrogate', 'ada\uD800@example.com'],
  ['SQL', "'; DROP TABLE users; --"],
  ['HTML', '<script>alert(1)</script>'],
  ['long (5000)', 'a'.repeat(5_000)],
  ['unicode', '😀'.repeat(101)],
  ['unicode', 'İstanbul ß ǅ'],
  ['bidi', '\u202Egnp.exe'],
  ['empty', ''],
];

const REPRESENTATIVE_TRANSPORT: Omit<Extract<BodySpec, { kind: 'raw' }>, 'kind'>[] = [
  { payload: '{"a":"b"}', contentType: 'text/plain', label: 'JSON sent as text/plain' },
  { payload: '{"a":"b"}', contentType: undefined, label: 'JSON without Content-Type' },
  { payload: 'a=b&c=d', contentType: 'application/x-www-form-urlencoded', label: 'form-urlencoded body' },
  { payload: '--fuzzBoundary\r\nContent-Disposition: form-data; name="a"\r\n\r\nb\r\n--fuzzBoundary--\r\n', contentType: 'multipart/form-data; boundary=fuzzBoundary', label: 'multipart body' },
  { payload: '<a>b</a>', contentType: 'application/xml', label: 'XML body' },
  { payload: deepArrays(5_000), contentType: 'application/json', label: 'JSON 5000 levels deep (arrays)' },
  { payload: deepObjects(3_000), contentType: 'application/json', label: 'JSON 3000 levels deep (objects)' },
  { payload: '{"email":', contentType: 'application/json', label: 'truncated JSON' },
  { payload: JSON.stringify({ a: 'x'.repeat(20_000) }), contentType: 'application/json', label: 'oversized body (20 kB)' },
];

const REPRESENTATIVE_PATHS: { encoded: string; label: string }[] = [
  { encoded: 'abc', label: 'path word' },
  { encoded: '%zz', label: 'path percent' },
  { encoded: '%E0%A4%A', label: 'path percent' },
  { encoded: '%00', label: 'path NUL' },
  { encoded: 'a'.repeat(300), label: 'path 300 chars of a' },
  { encoded: 'a'.repeat(20_000), label: 'path 20000 chars of a' },
];

/** The seeded id a path parameter most likely names, from the segment before it (`/users/{id}`: a user). */
function resourceSym(path: string, parameter: string): SymName {
  const before = path.split('/').at(path.split('/').indexOf(`{${parameter}}`) - 1) ?? '';
  if (/api-keys?$/.test(before)) return 'apiKey.id';
  if (/sessions?$/.test(before)) return 'user.otherSessionId';
  return 'user.id';
}

let canonicalSequence = 0;

/**
 * A value the schema allows, built from its examples where it has them (an
 * API's examples are its curated valid values), so a fixed example gets past
 * validation to the code behind it: unique emails, strong passwords, dates
 * ahead, optional fields that have an example included.
 */
function canonicalValue(schema: Schema, name: string, depth = 0): unknown {
  if (depth > 8) return null;
  if (schema.enum?.length) return schema.enum.includes(schema.example) ? schema.example : schema.enum[0];
  switch (schema.format) {
    case 'email':
      canonicalSequence += 1;
      return `fz-example-${canonicalSequence}-${Date.now().toString(36)}@example.com`;
    case 'password':
      return 'Fz-canonical-Passw0rd!'.slice(0, schema.maxLength ?? 128);
    case 'date-time':
      return new RelativeDate(30 * 86_400);
    case 'uuid':
      return new Sym('user.id');
  }
  if (schema.type === 'object' || schema.properties) {
    const out: Record<string, unknown> = {};
    for (const [key, property] of Object.entries(schema.properties ?? {})) {
      if (schema.required?.includes(key) || property.example !== undefined) out[key] = canonicalValue(property, key, depth + 1);
    }
    return out;
  }
  if (schema.example !== undefined) return schema.example;
  switch (schema.type) {
    case 'string':
      return 'x'.repeat(Math.max(schema.minLength ?? 1, 1));
    case 'integer':
    case 'number':
      return schema.minimum ?? 1;
    case 'boolean':
      return true;
    case 'array':
      return Array.from({ length: Math.max(schema.minItems ?? 1, 1) }, () => canonicalValue(schema.items ?? {}, name, depth + 1));
    default:
      return null;
  }
}

/** The request a legitimate client would make, from the document's examples. */
function canonicalRequest(operation: Operation, facet: Facet): Omit<RequestSpec, 'labels'> {
  const { access } = operation;
  const credential: Credential = access.public ? 'none' : access.adminOnly ? 'admin' : 'user';
  return {
    facet,
    credential,
    credentialPick: 0,
    path: Object.fromEntries(operation.pathParams.map((p) => [p.name, { value: new Sym(resourceSym(operation.path, p.name)) }])),
    pathSuffix: '',
    query: { pairs: operation.queryParams.filter((p) => p.required).map((p): [string, unknown] => [p.name, canonicalValue(p.schema ?? {}, p.name)]) },
    headers: {},
    body: operation.body
      ? { kind: 'value', value: canonicalValue(operation.body.schema, 'body'), encoding: 'json', contentType: 'application/json', label: 'valid json' }
      : { kind: 'absent', label: 'no body' },
  };
}

/**
 * Cases run before the random ones on every run, so each class of input
 * (every hostile string in every string field, every content type, every
 * credential, the bad paths) is covered whatever the seed, each on an
 * otherwise valid request (a fresh one each: emails stay unique).
 */
export function examplesFor(operation: Operation, facet: Facet): RequestSpec[] {
  const spec = (change: (base: Omit<RequestSpec, 'labels'>) => Partial<RequestSpec>, label: string): RequestSpec => {
    const base = canonicalRequest(operation, facet);
    return { ...base, ...change(base), labels: [label] };
  };
  const examples: RequestSpec[] = [spec(() => ({}), 'valid request')];
  switch (facet) {
    case 'schema':
      for (const [key, property] of Object.entries(operation.body?.schema.properties ?? {})) {
        if (property.type !== 'string' && !property.format) continue;
        for (const [category, value] of REPRESENTATIVE_HOSTILE) {
          const label = `hostile ${key} (${category})`;
          examples.push(
            spec((base) => (base.body.kind === 'value' ? { body: { ...base.body, value: { ...(base.body.value as object), [key]: value }, label } } : {}), label),
          );
        }
      }
      for (const parameter of operation.queryParams.filter((p) => p.schema?.type === 'string')) {
        for (const [category, value] of REPRESENTATIVE_HOSTILE) {
          examples.push(spec((base) => ({ query: { pairs: [...('pairs' in base.query ? base.query.pairs : []), [parameter.name, value]] } }), `hostile query ${parameter.name} (${category})`));
        }
      }
      break;
    case 'transport':
      for (const body of REPRESENTATIVE_TRANSPORT) examples.push(spec(() => ({ body: { kind: 'raw', ...body } }), body.label));
      break;
    case 'path':
      for (const parameter of operation.pathParams) {
        for (const value of REPRESENTATIVE_PATHS) examples.push(spec((base) => ({ path: { ...base.path, [parameter.name]: value } }), value.label));
      }
      for (const suffix of ['%zz', '/', '%']) examples.push(spec(() => ({ pathSuffix: suffix }), `path suffix ${suffix}`));
      examples.push(spec(() => ({ query: { raw: 'a=%zz', label: 'query a=%zz' } }), 'query a=%zz'));
      break;
    case 'auth':
      CREDENTIALS.forEach((credential, index) => examples.push(spec(() => ({ credential, credentialPick: index }), `credential ${credential}`)));
      break;
  }
  return examples;
}
