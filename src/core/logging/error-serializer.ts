import type { LoggerOptions } from 'pino';

/**
 * All that a logged error says. Drivers and clients hang whatever they were
 * working on onto their errors (TypeORM's QueryFailedError: the query, its
 * parameters and the driver's error with PostgreSQL's `detail`, such as
 * `Key (email)=(…)` or `Failing row contains (…)`; ioredis: the command and its
 * arguments), and those parameters are emails, password hashes and token
 * hashes. So a log line keeps only these fields, and never the rest.
 */
export interface LoggedError {
  type: string;
  /** SQLSTATE for PostgreSQL, errno names (ECONNREFUSED) for Node, and the like. */
  code?: string | number;
  message: string;
  stack?: string;
  cause?: LoggedError;
}

const MAX_CAUSES = 5;
const MAX_CODE_LENGTH = 64;
/** SQLSTATE class 22, data exception. */
const DATA_EXCEPTION = /^22[0-9A-Z]{3}$/;
const STACK_FRAME = /^\s+at /;

/**
 * PostgreSQL's messages are kept: they name schema objects (tables, columns,
 * constraints, types), which is what makes a failure diagnosable, and they
 * leave the offending values to `detail`, which is never logged. Data
 * exceptions (SQLSTATE class 22) are the exception: their messages quote the
 * input itself (`invalid input syntax for type uuid: "…"`, `value "…" is out of
 * range for type integer`, `invalid byte sequence for encoding "UTF8": 0x00`),
 * so there everything from the first double quote to the last, and any byte
 * sequence, is withheld. PostgreSQL does not escape quotes inside a value, which
 * is why the span is the widest one rather than each quoted pair.
 */
export function safeErrorMessage(message: string, code: unknown): string {
  if (typeof code !== 'string' || !DATA_EXCEPTION.test(code)) return message;
  return message.replace(/"[\s\S]*"/, '"[WITHHELD]"').replace(/0x[0-9a-f]{2}(?:\s+0x[0-9a-f]{2})*/gi, '0x[WITHHELD]');
}

function typeOf(error: Record<string, unknown>): string {
  const constructorName = typeof error.constructor === 'function' ? error.constructor.name : '';
  if (constructorName && constructorName !== 'Object') return constructorName;
  return typeof error.name === 'string' && error.name ? error.name : constructorName || 'Object';
}

function shape(error: unknown, depth: number, seen: Set<object>): LoggedError {
  if (error === null || typeof error !== 'object') {
    return { type: typeof error, message: String(error) };
  }
  seen.add(error);
  const fields = error as Record<string, unknown>;
  const type = typeOf(fields);
  const code =
    (typeof fields.code === 'string' && fields.code.length <= MAX_CODE_LENGTH) || (typeof fields.code === 'number' && Number.isFinite(fields.code))
      ? (fields.code as string | number)
      : undefined;
  const rawMessage = typeof fields.message === 'string' ? fields.message : '';
  const message = safeErrorMessage(rawMessage, code);
  let stack = typeof fields.stack === 'string' ? fields.stack : undefined;
  // The stack starts with the message: what the message withholds, the stack's first line withholds too.
  if (stack !== undefined && message !== rawMessage) {
    stack = [`${type}: ${message}`, ...stack.split('\n').filter((line) => STACK_FRAME.test(line))].join('\n');
  }

  const logged: LoggedError = { type, message };
  if (code !== undefined) logged.code = code;
  if (stack !== undefined) logged.stack = stack;
  const cause = fields.cause;
  if (cause !== undefined && depth < MAX_CAUSES && !(typeof cause === 'object' && cause !== null && seen.has(cause))) {
    logged.cause = shape(cause, depth + 1, seen);
  }
  return logged;
}

/** The one way an error is written to the log: type, code, message, stack and cause (shaped alike), nothing else. */
export function serializeError(error: unknown): LoggedError {
  return shape(error, 0, new Set());
}

const ERROR_KEY = 'err';

/**
 * Errors under another key than `err` (`{ error }`, `{ failure }`) would be
 * written with every enumerable property they have, as JSON.stringify does:
 * the top level of every log object is checked for them. Only the top level:
 * nothing in src nests errors deeper, and a deeper walk would tax every line.
 */
function shapeErrorsIn(object: Record<string, unknown>): Record<string, unknown> {
  let shaped: Record<string, unknown> | undefined;
  for (const key in object) {
    const value = object[key];
    if (key !== ERROR_KEY && value instanceof Error) {
      shaped ??= { ...object };
      shaped[key] = serializeError(value);
    }
  }
  return shaped ?? object;
}

/**
 * Options every pino logger of the service is built with. Besides the `err`
 * serializer, pino itself fills a missing message in with the raw error's
 * message (`logger.error(error)`, and Nest's `logger.error(error)` through
 * nestjs-pino): the hook gives it the safe message instead.
 */
export const errorLogging = {
  serializers: { [ERROR_KEY]: serializeError },
  formatters: { log: shapeErrorsIn },
  hooks: {
    logMethod(args, method) {
      const first: unknown = args[0];
      if (args.length === 1 && first !== null && typeof first === 'object') {
        const error = first instanceof Error ? first : (first as Record<string, unknown>)[ERROR_KEY];
        if (error !== undefined) {
          const fields = first instanceof Error ? { [ERROR_KEY]: first } : first;
          return method.apply(this, [fields, serializeError(error).message] as Parameters<typeof method>);
        }
      }
      return method.apply(this, args);
    },
  },
} satisfies Pick<LoggerOptions, 'serializers' | 'formatters' | 'hooks'>;
