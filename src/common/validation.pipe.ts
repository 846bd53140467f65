import { ArgumentMetadata, Injectable, PipeTransform } from '@nestjs/common';
import { plainToInstance } from 'class-transformer';
import { ValidationError, validate } from 'class-validator';
import { ValidationProblem, validationFailed } from './errors';

const LOCATION: Record<ArgumentMetadata['type'], string> = {
  body: 'body',
  query: 'query',
  param: 'path',
  custom: 'body',
};

/** class-validator constraint → the platform's error `type`. */
const PROBLEM_TYPE: Record<string, string> = {
  whitelistValidation: 'extra_forbidden',
  isString: 'string_type',
  isBoolean: 'bool_type',
  isInt: 'int_parsing',
  min: 'greater_than_equal',
  max: 'less_than_equal',
  isIn: 'enum',
  isEnum: 'enum',
  isUuid: 'uuid_parsing',
  isArray: 'list_type',
  maxLength: 'string_too_long',
  minLength: 'string_too_short',
  isObject: 'model_attributes_type',
  isTimezoneAwareTimestamp: 'datetime_parsing',
};

/** Constraints that check the value's type: when one fails, the others only restate it. */
const TYPE_CHECKS = new Set(['isString', 'isBoolean', 'isInt', 'isArray', 'isObject']);

/**
 * Deeper inputs are refused before class-transformer walks them: its recursion (and the echoed
 * `input` when serialised) would overflow the stack and turn a bad request into a 500.
 */
export const MAX_INPUT_DEPTH = 64;

/**
 * A body DTO may offer a check of the usual, valid request that is cheaper than class-validator
 * (the publish route runs for every event). It must use the same predicates as the DTO's
 * decorators: `true` means class-validator would find nothing wrong, so it is skipped; `false`
 * means nothing, and class-validator decides (and words the problems).
 */
export interface QuickCheckedBody {
  isPlainlyValid(body: Record<string, unknown>): boolean;
}

/** Decorator context naming the allowed values, so an array gets one problem per bad item. */
export interface AllowedValuesContext {
  allowed: readonly string[];
}

/**
 * Validates bodies, queries and paths against their DTOs and answers 422 with one entry per
 * problem. Unknown body fields are problems too (they usually mean a typo in a field name).
 */
@Injectable()
export class ApiValidationPipe implements PipeTransform {
  async transform(value: unknown, metadata: ArgumentMetadata): Promise<unknown> {
    const dto = metadata.metatype;
    if (!dto || [String, Boolean, Number, Array, Object].includes(dto as never)) return value;
    const where = LOCATION[metadata.type];
    if (depthExceeds(value, MAX_INPUT_DEPTH)) {
      throw validationFailed([
        {
          type: 'value_error',
          loc: [where],
          msg: `Input should be nested at most ${MAX_INPUT_DEPTH} levels deep`,
        },
      ]);
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      throw validationFailed([
        {
          type: 'model_attributes_type',
          loc: [where],
          msg: 'Input should be a valid dictionary or object',
          input: value,
        },
      ]);
    }
    // class-validator's whitelist misses this one key (its lookup finds Object.prototype).
    if (Object.prototype.hasOwnProperty.call(value, '__proto__')) {
      throw validationFailed([
        {
          type: 'extra_forbidden',
          loc: [where, '__proto__'],
          msg: 'Extra inputs are not permitted',
          input: (value as Record<string, unknown>)['__proto__'],
        },
      ]);
    }
    if (
      metadata.type === 'body' &&
      (dto as Partial<QuickCheckedBody>).isPlainlyValid?.(value as Record<string, unknown>)
    ) {
      return shallowInstance(dto as new () => object, value as Record<string, unknown>);
    }
    // Query strings need class-transformer's conversions (see query.ts); bodies are JSON as is.
    const instance =
      metadata.type === 'body'
        ? shallowInstance(dto as new () => object, value as Record<string, unknown>)
        : (plainToInstance(dto, value, { enableImplicitConversion: false }) as object);
    const errors = await validate(instance, {
      whitelist: true,
      forbidNonWhitelisted: true,
      forbidUnknownValues: false,
      validationError: { target: false, value: true },
    });
    if (errors.length > 0) {
      throw validationFailed(errors.flatMap((e) => problemsOf(e, [where], value)));
    }
    return instance;
  }
}

function problemsOf(
  error: ValidationError,
  parent: Array<string | number>,
  raw: unknown,
): ValidationProblem[] {
  const loc = [...parent, error.property];
  const input = (raw as Record<string, unknown> | undefined)?.[error.property];
  const nested = (error.children ?? []).flatMap((child) => problemsOf(child, loc, input));
  if (!error.constraints) return nested;
  if (input === undefined && !('whitelistValidation' in error.constraints)) {
    return [{ type: 'missing', loc, msg: 'Field required', input: raw }, ...nested];
  }
  // Report one failing constraint, the type check when it failed: the others usually restate it
  // (an unknown enum value in a non-string field is first of all the wrong type). class-validator
  // lists stacked decorators bottom-up, so declaration order cannot be relied on.
  const constraints = Object.entries(error.constraints);
  const [name, msg] = constraints.find(([n]) => TYPE_CHECKS.has(n)) ?? constraints[0];
  const context = error.contexts?.[name] as AllowedValuesContext | undefined;
  if (context?.allowed && Array.isArray(input)) {
    return input
      .map((item, index) => ({ item, index }))
      .filter(({ item }) => !context.allowed.includes(item))
      .map(({ item, index }) => ({
        type: 'enum',
        loc: [...loc, index],
        msg: `Input should be ${describeAllowed(context.allowed)}`,
        input: item,
      }));
  }
  const type = PROBLEM_TYPE[name] ?? 'value_error';
  return [
    { type, loc, msg: type === 'extra_forbidden' ? 'Extra inputs are not permitted' : msg, input },
    ...nested,
  ];
}

/**
 * The DTO instance class-validator checks: the class's defaults, then the input's own fields as
 * they are. No deep copy (class-transformer's would walk a publish's whole `data`): no body DTO
 * nests another or transforms a field. Keys are defined, not assigned, so a `__proto__` key
 * could never replace the instance's prototype (the pipe refuses that key before).
 */
function shallowInstance(dto: new () => object, value: Record<string, unknown>): object {
  const instance = new dto() as Record<string, unknown>;
  for (const key of Object.keys(value)) {
    Object.defineProperty(instance, key, {
      value: value[key],
      writable: true,
      enumerable: true,
      configurable: true,
    });
  }
  return instance;
}

/** Iterative, so that measuring a hostile input cannot itself overflow the stack. */
function depthExceeds(value: unknown, limit: number): boolean {
  const stack: Array<{ node: unknown; depth: number }> = [{ node: value, depth: 0 }];
  while (stack.length > 0) {
    const { node, depth } = stack.pop()!;
    if (typeof node !== 'object' || node === null) continue;
    if (depth >= limit) return true;
    for (const child of Object.values(node)) stack.push({ node: child, depth: depth + 1 });
  }
  return false;
}

export function describeAllowed(values: readonly string[]): string {
  const quoted = values.map((v) => `'${v}'`);
  return quoted.length > 1
    ? `${quoted.slice(0, -1).join(', ')} or ${quoted[quoted.length - 1]}`
    : quoted[0];
}
