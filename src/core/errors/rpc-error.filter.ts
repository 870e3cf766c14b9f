import { type ArgumentsHost, Catch, type RpcExceptionFilter } from '@nestjs/common';
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { type Observable, throwError } from 'rxjs';

import { AppError, type FieldError } from './app-error.js';
import { ErrorCode } from './error-codes.js';

/** What a caller's send() fails with: the contract's { code, message }, codes from the HTTP vocabulary. */
export class RpcErrorReply {
  @ApiProperty({ example: ErrorCode.VALIDATION_FAILED, description: 'Stable, machine-readable' }) code: string;
  @ApiProperty({ example: 'The request has invalid fields.' }) message: string;
  @ApiPropertyOptional({ example: [{ field: 'id', message: 'must be a UUID' }], description: 'Field problems (VALIDATION_FAILED)' })
  errors?: FieldError[];

  constructor(code: string, message: string, errors?: FieldError[]) {
    this.code = code;
    this.message = message;
    if (errors?.length) this.errors = errors;
  }

  static internal(): RpcErrorReply {
    return new RpcErrorReply(ErrorCode.INTERNAL_ERROR, 'Something went wrong on our side.');
  }
}

/**
 * For message handlers (each consumer class applies it): an AppError becomes
 * the reply the caller's send() fails with. Anything else is rethrown as is,
 * so the queue's server retries the message and, in the end, dead-letters it.
 */
@Catch()
export class RpcErrorFilter implements RpcExceptionFilter {
  catch(error: unknown, _host: ArgumentsHost): Observable<never> {
    if (error instanceof AppError) return throwError(() => new RpcErrorReply(error.code, error.detail, error.errors));
    throw error;
  }
}
