import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';

import type { FieldError } from './app-error.js';
import { problemTitle, problemType } from './error-codes.js';

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

export class FieldErrorDto implements FieldError {
  @ApiProperty({ example: 'email' }) field!: string;
  @ApiProperty({ example: 'is required' }) message!: string;
}

/** RFC 9457 problem details, as every error response of the service is shaped. */
export class ProblemDetails {
  @ApiProperty({ example: 'urn:problem:user-service:validation-failed' }) type!: string;
  @ApiProperty({ example: 'Bad Request' }) title!: string;
  @ApiProperty({ example: 400 }) status!: number;
  @ApiProperty({ example: 'The request has invalid fields.' }) detail!: string;
  @ApiProperty({ example: 'VALIDATION_FAILED' }) code!: string;
  @ApiProperty({ example: '0f8fad5b-d9cb-469f-a165-70867728950e' }) correlationId!: string;
  @ApiPropertyOptional({ type: [FieldErrorDto] }) errors?: FieldError[];
}

export function problemDetails(
  status: number,
  code: string,
  detail: string,
  correlationId: string,
  errors?: FieldError[],
): ProblemDetails {
  const problem: ProblemDetails = {
    type: problemType(code),
    title: problemTitle(status),
    status,
    detail,
    code,
    correlationId,
  };
  if (errors) problem.errors = errors;
  return problem;
}
