import { ArgumentsHost, Catch, ExceptionFilter, HttpException, Logger } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { WrongExpectedRevisionError } from '../eventstore/event-store';
import { ApiError, conflict, notFound } from './errors';

/** Fastify's client errors (body too large, media type...) carry their status. */
const STATUS_NAMES: Record<number, string> = {
  400: 'BadRequest',
  405: 'MethodNotAllowed',
  406: 'NotAcceptable',
  408: 'RequestTimeout',
  411: 'LengthRequired',
  413: 'PayloadTooLarge',
  414: 'URITooLong',
  415: 'UnsupportedMediaType',
  431: 'RequestHeaderFieldsTooLarge',
};

/**
 * Renders every error in the contract's shapes. Unknown errors become a bare 500 whose body
 * carries no stack trace or message; the log line keeps the detail for operators.
 */
@Catch()
export class HttpExceptionFilter implements ExceptionFilter {
  private readonly logger = new Logger('HTTP');

  catch(exception: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    const reply = http.getResponse<FastifyReply>();
    const error = this.toApiError(exception, http.getRequest<FastifyRequest>().id);
    void reply.status(error.getStatus()).headers(error.headers).send(error.body);
  }

  private toApiError(exception: unknown, requestId: string): ApiError {
    if (exception instanceof ApiError) return exception;
    if (exception instanceof WrongExpectedRevisionError) {
      return conflict('The resource was changed concurrently; retry the request');
    }
    if (exception instanceof HttpException) return this.fromHttpException(exception);
    this.logger.error({
      msg: exception instanceof Error ? exception.message : String(exception),
      request_id: requestId,
      ...(exception instanceof Error && { stack: exception.stack }),
    });
    return new ApiError(500, { error: 'InternalServerError', detail: 'Internal server error' });
  }

  private fromHttpException(exception: HttpException): ApiError {
    const status = exception.getStatus();
    if (status === 404) return notFound();
    // Fastify's own client errors reach Nest as bare HttpExceptions: name them by status.
    const name =
      exception.constructor === HttpException
        ? (STATUS_NAMES[status] ?? 'BadRequest')
        : exception.name.replace(/Exception$/, '');
    return new ApiError(status, { error: name, detail: exception.message });
  }
}
