import { Type } from '@nestjs/common';
import { ApiProperty } from '@nestjs/swagger';

export class Pagination {
  @ApiProperty({ type: 'integer', minimum: 0 }) total!: number;
  @ApiProperty({ type: 'integer', minimum: 1 }) page!: number;
  @ApiProperty({ type: 'integer', minimum: 1, maximum: 100 }) per_page!: number;
  @ApiProperty({ type: 'integer', minimum: 0 }) pages!: number;
}

/** The OpenAPI schema of a page of `item`, named as the platform names it. */
export function PaginatedList<T>(item: Type<T>): Type<unknown> {
  class Page {
    @ApiProperty({ type: [item] }) data!: T[];
    @ApiProperty({ type: Pagination }) meta!: Pagination;
  }
  Object.defineProperty(Page, 'name', { value: `PaginatedList_${item.name}_` });
  return Page;
}
