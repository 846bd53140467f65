import { ArgumentsHost, Catch, ExceptionFilter, HttpException, Logger } from '@nestjs/common';
import type { Response } from 'express';
import { WrongExpectedRevisionError } from '../eventstore/event-store';
import { ApiError, conflict, notFound, validationFailed } from './errors';

interface BodyParserError {
  type?: string;
  status?: number;
  body?: unknown;
}

/** body-parser's own errors (`http-errors`): too large, unsupported charset or encoding... */
interface ClientHttpError extends Error {
  status: number;
  expose: boolean;
}

function isClientHttpError(error: unknown): error is ClientHttpError {
  if (!(error instanceof Error)) return false;
  const { status, expose } = error as Partial<ClientHttpError>;
  return expose === true && typeof status === 'number' && status >= 400 && status < 500;
}

/**
 * Renders every error in the contract's shapes. Unknown errors become a bare 500 whose body
 * carries no stack trace or message; the log line keeps the detail for operators.
 */
@Catch()
export class HttpExceptionFilter implements ExceptionFilter {
  private readonly logger = new Logger('HTTP');

  catch(exception: unknown, host: ArgumentsHost): void {
    const response = host.switchToHttp().getResponse<Response>();
    const error = this.toApiError(exception);
    response.status(error.getStatus()).set(error.headers).json(error.body);
  }

  private toApiError(exception: unknown): ApiError {
    if (exception instanceof ApiError) return exception;
    if (exception instanceof WrongExpectedRevisionError) {
      return conflict('The resource was changed concurrently; retry the request');
    }
    if (exception instanceof HttpException) return this.fromHttpException(exception);
    // Nest passes body-parser errors other than JSON syntax errors through unchanged.
    if (isClientHttpError(exception)) {
      return new ApiError(exception.status, {
        error: exception.name.replace(/Error$/, ''),
        detail: exception.message,
      });
    }
    this.logger.error(
      exception instanceof Error ? (exception.stack ?? exception.message) : String(exception),
    );
    return new ApiError(500, { error: 'InternalServerError', detail: 'Internal server error' });
  }

  private fromHttpException(exception: HttpException): ApiError {
    const status = exception.getStatus();
    if (status === 404) return notFound();
    // body-parser errors reach Nest as HttpExceptions wrapping the parser's error.
    const cause = exception.cause as BodyParserError | undefined;
    const parserError = (cause ?? (exception.getResponse() as BodyParserError)) || {};
    if (
      status === 400 &&
      (parserError.type === 'entity.parse.failed' || /JSON/i.test(exception.message))
    ) {
      return validationFailed([
        { type: 'json_invalid', loc: ['body'], msg: 'Request body is not valid JSON' },
      ]);
    }
    // The router could not percent-decode a path segment: a malformed path value like any other.
    const undecodable = /^Failed to decode param '(.*)'$/s.exec(exception.message);
    if (status === 400 && undecodable) {
      return validationFailed([
        {
          type: 'value_error',
          loc: ['path'],
          msg: 'Path is not valid percent-encoding',
          input: undecodable[1],
        },
      ]);
    }
    const name = exception.name.replace(/Exception$/, '');
    return new ApiError(status, { error: name, detail: exception.message });
  }
}
