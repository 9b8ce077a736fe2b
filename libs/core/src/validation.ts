import { ValidationError, ValidationPipe } from '@nestjs/common';
import { FieldError } from './problem';
import { ValidationFailedException } from './to-problem';

function flatten(errors: ValidationError[], parent = ''): FieldError[] {
  return errors.flatMap((error) => {
    const field = parent ? `${parent}.${error.property}` : error.property;
    const own = Object.entries(error.constraints ?? {}).map(([rule, message]) => ({
      field,
      rule,
      message,
    }));
    return [...own, ...flatten(error.children ?? [], field)];
  });
}

/**
 * The one validation pipe: unknown properties are refused (not silently dropped), values are
 * transformed to the DTO's types, and a failure names every field and rule.
 */
export function createValidationPipe(): ValidationPipe {
  return new ValidationPipe({
    transform: true,
    whitelist: true,
    forbidNonWhitelisted: true,
    forbidUnknownValues: true,
    validationError: { target: false, value: false },
    exceptionFactory: (errors) => new ValidationFailedException(flatten(errors)),
  });
}
