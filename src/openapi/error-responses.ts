import { applyDecorators } from '@nestjs/common';
import {
  ApiConflictResponse,
  ApiExtraModels,
  ApiForbiddenResponse,
  ApiNotFoundResponse,
  ApiProperty,
  ApiPropertyOptional,
  ApiUnauthorizedResponse,
  ApiUnprocessableEntityResponse,
  getSchemaPath,
} from '@nestjs/swagger';

/*
 * The JSON bodies of the error responses, as `src/common/errors.ts` builds them. These classes
 * only document the shapes; the errors themselves are thrown as `ApiError`s.
 */

/** 401 when the Authorization header is missing or is not `Bearer <token>`. */
export class Unauthorized {
  @ApiProperty({ enum: ['Unauthorized'] }) error!: 'Unauthorized';
  @ApiProperty({ example: 'Missing Authorization header' }) detail!: string;
}

/** 401 when the bearer token is unknown or revoked (RFC 6750 `invalid_token`). */
export class InvalidTokenError {
  @ApiProperty({ enum: ['invalid_token'] }) error!: 'invalid_token';
  @ApiProperty({ example: 'The access token is unknown or has been revoked' })
  error_description!: string;
}

/** 403 when the token lacks the route's scope (RFC 6750 `insufficient_scope`). */
export class InsufficientScopeError {
  @ApiProperty({ enum: ['insufficient_scope'] }) error!: 'insufficient_scope';
  @ApiProperty({ example: 'The token lacks the required scope: webhooks:write' })
  error_description!: string;
}

/** 404 for a resource that does not exist, was deleted, or is in a workspace the token cannot see. */
export class ResourceNotFound {
  @ApiProperty({ enum: ['ResourceNotFound'] }) error!: 'ResourceNotFound';
  @ApiProperty({ example: 'Not found' }) detail!: string;
}

/** 409 when concurrent changes to the same resource kept conflicting. */
export class Conflict {
  @ApiProperty({ enum: ['Conflict'] }) error!: 'Conflict';
  @ApiProperty({ example: 'The resource was changed concurrently; retry the request' })
  detail!: string;
}

/** Any JSON value, including null (OpenAPI 3.0 has no type list). */
const ANY_JSON_VALUE = [
  { type: 'string' },
  { type: 'number' },
  { type: 'boolean' },
  { type: 'array', items: {} },
  { type: 'object', nullable: true },
];

/** One problem with a request, in the platform's (Pydantic-style) shape. */
export class ValidationError {
  @ApiProperty({ example: 'missing', description: 'Machine-readable kind of problem.' })
  type!: string;

  @ApiProperty({
    type: 'array',
    items: { oneOf: [{ type: 'string' }, { type: 'integer' }] },
    example: ['body', 'url'],
    description: 'Where the problem is: `body`, `query` or `path`, then field names and indexes.',
  })
  loc!: Array<string | number>;

  @ApiProperty({ example: 'Field required', description: 'Human-readable message.' })
  msg!: string;

  @ApiPropertyOptional({ anyOf: ANY_JSON_VALUE, description: 'The offending input value.' })
  input?: unknown;
}

/** 422 for a malformed body, path or query value: one entry per problem. */
export class RequestValidationError {
  @ApiProperty({ enum: ['RequestValidationError'] }) error!: 'RequestValidationError';
  @ApiProperty({ type: [ValidationError] }) detail!: ValidationError[];
}

const wwwAuthenticate = (description: string) => ({
  'WWW-Authenticate': { description, schema: { type: 'string' } },
});

/** 401 in either of its two shapes. */
export const ApiUnauthorizedErrors = () =>
  applyDecorators(
    ApiExtraModels(Unauthorized, InvalidTokenError),
    ApiUnauthorizedResponse({
      description:
        'Missing or malformed Authorization header (`Unauthorized`), or an unknown or revoked ' +
        'token (`invalid_token`).',
      headers: wwwAuthenticate('`Bearer`, or `Bearer error="invalid_token", ...`'),
      schema: {
        oneOf: [{ $ref: getSchemaPath(Unauthorized) }, { $ref: getSchemaPath(InvalidTokenError) }],
      },
    }),
  );

/** 403 for a token with none of the `accepted` scopes; the header names the `required` one. */
export const ApiInsufficientScopeError = (required: string, accepted: readonly string[]) =>
  ApiForbiddenResponse({
    description: `The token has none of the accepted scopes: ${accepted.map((s) => `\`${s}\``).join(', ')}.`,
    headers: wwwAuthenticate(`\`Bearer error="insufficient_scope", scope="${required}"\``),
    type: InsufficientScopeError,
  });

export const ApiResourceNotFoundError = () =>
  ApiNotFoundResponse({
    description:
      'Not found: the resource does not exist, was deleted, or belongs to a workspace the token ' +
      'cannot access.',
    type: ResourceNotFound,
  });

export const ApiConflictError = () =>
  ApiConflictResponse({
    description: 'The resource kept being changed concurrently; retry the request.',
    type: Conflict,
  });

export const ApiRequestValidationError = () =>
  ApiUnprocessableEntityResponse({
    description: 'A malformed body, path or query value: one entry per problem.',
    type: RequestValidationError,
  });
