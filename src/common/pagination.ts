export const DEFAULT_PAGE_SIZE = 10;
export const MAX_PAGE_SIZE = 100;

export interface PageRequest {
  page: number;
  limit: number;
}

export interface Page<T> {
  data: T[];
  meta: { total: number; page: number; per_page: number; pages: number };
}

/** Values over the maximum are clamped rather than rejected, as the platform does. */
export function pageRequest(page: number | undefined, limit: number | undefined): PageRequest {
  return { page: page ?? 1, limit: Math.min(limit ?? DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE) };
}

export function toPage<T>(items: T[], total: number, request: PageRequest): Page<T> {
  return {
    data: items,
    meta: {
      total,
      page: request.page,
      per_page: request.limit,
      pages: Math.ceil(total / request.limit),
    },
  };
}

export function offsetOf(request: PageRequest): number {
  return (request.page - 1) * request.limit;
}
