import { ArgumentMetadata, Injectable, PipeTransform } from '@nestjs/common';
import { validationFailed } from './errors';
import { isUuid } from './ids';

/** Path ids must be UUIDs; anything else is a 422 naming the parameter, never a lookup. */
@Injectable()
export class UuidParamPipe implements PipeTransform<string, string> {
  transform(value: string, metadata: ArgumentMetadata): string {
    if (isUuid(value)) return value.toLowerCase();
    throw validationFailed([
      {
        type: 'uuid_parsing',
        loc: ['path', metadata.data ?? 'id'],
        msg: 'Input should be a valid UUID',
        input: value,
      },
    ]);
  }
}
