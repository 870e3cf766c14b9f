import type { ErrorCode, ErrorStatus } from './error-codes.js';

export interface FieldError {
  field: string;
  message: string;
}

/**
 * The one error type services throw. Its detail is written for the client, so
 * it must never carry internal messages.
 */
class ApplicationError extends Error {
  private readonly extraHeaders: Record<string, string> = {};

  constructor(
    readonly code: ErrorCode,
    readonly status: number,
    readonly detail: string,
    readonly errors?: FieldError[],
    /** Seconds, sent as Retry-After (429, 503). */
    readonly retryAfterSeconds?: number,
  ) {
    super(detail);
    this.name = 'AppError';
  }

  /** Response headers sent with the problem (WWW-Authenticate on a 401, Allow on a 405). */
  get headers(): Readonly<Record<string, string>> {
    return this.extraHeaders;
  }

  withHeader(name: string, value: string): this {
    this.extraHeaders[name] = value;
    return this;
  }
}

/**
 * A class whose constructor takes a code's own status only (ERROR_CATALOG):
 * `new AppError(ErrorCode.EMAIL_TAKEN, 404, …)` does not compile. A class
 * cannot have a generic constructor, hence this type; `instanceof AppError`
 * narrows as for any class.
 */
interface AppErrorConstructor {
  new <C extends ErrorCode>(code: C, status: ErrorStatus<C>, detail: string, errors?: FieldError[], retryAfterSeconds?: number): ApplicationError;
  readonly prototype: ApplicationError;
}

export const AppError = ApplicationError as AppErrorConstructor;
export type AppError = ApplicationError;
