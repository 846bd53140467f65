import { HttpException, HttpStatus } from '@nestjs/common';

/** One problem with a request, in the platform's (Pydantic-style) shape. */
export interface ValidationProblem {
  type: string;
  loc: Array<string | number>;
  msg: string;
  input?: unknown;
}

/**
 * An error with the exact JSON body and headers the API contract gives it. Everything the
 * service answers with a 4xx goes through one of these, so the shapes live in one place.
 */
export class ApiError extends HttpException {
  constructor(
    status: number,
    readonly body: Record<string, unknown>,
    readonly headers: Record<string, string> = {},
  ) {
    super(body, status);
  }
}

export const notFound = () =>
  new ApiError(HttpStatus.NOT_FOUND, { error: 'ResourceNotFound', detail: 'Not found' });

export const validationFailed = (detail: ValidationProblem[]) =>
  new ApiError(HttpStatus.UNPROCESSABLE_ENTITY, { error: 'RequestValidationError', detail });

export const unauthorized = (detail: string) =>
  new ApiError(
    HttpStatus.UNAUTHORIZED,
    { error: 'Unauthorized', detail },
    { 'WWW-Authenticate': 'Bearer' },
  );

export const invalidToken = (description: string) =>
  new ApiError(
    HttpStatus.UNAUTHORIZED,
    { error: 'invalid_token', error_description: description },
    { 'WWW-Authenticate': `Bearer error="invalid_token", error_description="${description}"` },
  );

export const insufficientScope = (scope: string) =>
  new ApiError(
    HttpStatus.FORBIDDEN,
    {
      error: 'insufficient_scope',
      error_description: `The token lacks the required scope: ${scope}`,
    },
    { 'WWW-Authenticate': `Bearer error="insufficient_scope", scope="${scope}"` },
  );

export const conflict = (detail: string) =>
  new ApiError(HttpStatus.CONFLICT, { error: 'Conflict', detail });
