import { ValidationOptions, registerDecorator } from 'class-validator';

/** ISO 8601 date-time that names its timezone (`Z` or an offset); a bare local time is ambiguous. */
const TIMEZONE_AWARE =
  /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:\.(\d{1,9}))?)?(?:Z|z|[+-]\d{2}:?\d{2})$/;

/** Epoch milliseconds of a timezone-aware timestamp, or null when it is not one. */
export function parseTimestamp(value: string): { ms: number; subMillisecond: boolean } | null {
  const match = TIMEZONE_AWARE.exec(value);
  if (!match) return null;
  const ms = Date.parse(value.replace(' ', 'T'));
  if (Number.isNaN(ms)) return null;
  const fraction = match[1] ?? '';
  return { ms, subMillisecond: /[1-9]/.test(fraction.slice(3)) };
}

export function IsTimezoneAwareTimestamp(options?: ValidationOptions): PropertyDecorator {
  return (target, propertyName) =>
    registerDecorator({
      name: 'isTimezoneAwareTimestamp',
      target: target.constructor,
      propertyName: String(propertyName),
      options: {
        message: 'Input should be an ISO 8601 date-time with a timezone, e.g. 2026-01-31T12:00:00Z',
        ...options,
      },
      validator: {
        validate: (value: unknown) => typeof value === 'string' && parseTimestamp(value) !== null,
      },
    });
}
