import { ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { IsInt, IsOptional, Max, Min } from 'class-validator';
import { DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE } from './pagination';

/** Query strings arrive as text; digits become numbers, anything else stays and fails validation. */
export const ToInteger = () =>
  Transform(({ value }) =>
    typeof value === 'string' && /^-?\d{1,15}$/.test(value) ? Number(value) : value,
  );

/** A query parameter that may be given once or repeated arrives as a string or an array. */
export const ToArray = () =>
  Transform(({ value }) => (value === undefined || Array.isArray(value) ? value : [value]));

export class PageQuery {
  @ApiPropertyOptional({
    type: 'integer',
    minimum: 1,
    default: 1,
    description: 'Page number, defaults to 1.',
  })
  @IsOptional()
  @ToInteger()
  @IsInt({ message: 'Input should be a valid integer' })
  @Min(1, { message: 'Input should be greater than or equal to 1' })
  @Max(Number.MAX_SAFE_INTEGER)
  page?: number;

  @ApiPropertyOptional({
    type: 'integer',
    minimum: 1,
    default: DEFAULT_PAGE_SIZE,
    description: `Size of a page, defaults to ${DEFAULT_PAGE_SIZE}. Maximum is ${MAX_PAGE_SIZE}; larger values are clamped.`,
  })
  @IsOptional()
  @ToInteger()
  @IsInt({ message: 'Input should be a valid integer' })
  @Min(1, { message: 'Input should be greater than or equal to 1' })
  limit?: number;
}

/** `true`/`false` (and 1/0) in a query string become booleans; anything else fails validation. */
export const ToBoolean = () =>
  Transform(({ value }) => {
    if (value === 'true' || value === '1') return true;
    if (value === 'false' || value === '0') return false;
    return value;
  });
