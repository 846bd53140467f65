/** ISO 8601 UTC with millisecond precision and a trailing `Z`, the API's timestamp format. */
export function nowIso(): string {
  return new Date().toISOString();
}
