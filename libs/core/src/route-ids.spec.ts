import { ArgumentMetadata } from '@nestjs/common';
import { IsUUID } from 'class-validator';
import { RouteIds } from './route-ids';
import { ValidationFailedException } from './to-problem';
import { createValidationPipe } from './validation';

class CustomerParams extends RouteIds('tenantId', 'customerId') {}

/** The same parameters the way every route declared them before: class-validator's decorators. */
class DecoratedCustomerParams {
  @IsUUID() tenantId!: string;
  @IsUUID() customerId!: string;
}

const pipe = createValidationPipe();
const asParams = (metatype: ArgumentMetadata['metatype']): ArgumentMetadata => ({ type: 'param', metatype });

async function outcome(metatype: ArgumentMetadata['metatype'], value: unknown) {
  try {
    return { value: (await pipe.transform(value, asParams(metatype))) as unknown };
  } catch (error) {
    if (error instanceof ValidationFailedException) return { errors: error.fieldErrors };
    throw error;
  }
}

const TENANT = '0190f5a2-7b3c-7def-8123-456789abcdef';
const inputs: Record<string, unknown>[] = [
  { tenantId: TENANT, customerId: '3f1c2b4a-9d8e-4f7a-b6c5-d4e3f2a1b0c9' },
  { tenantId: TENANT, customerId: '00000000-0000-0000-0000-000000000000' },
  { tenantId: TENANT, customerId: 'FFFFFFFF-FFFF-FFFF-FFFF-FFFFFFFFFFFF' },
  { tenantId: TENANT.toUpperCase(), customerId: TENANT },
  { tenantId: TENANT, customerId: '3f1c2b4a-9d8e-0f7a-b6c5-d4e3f2a1b0c9' }, // version 0
  { tenantId: TENANT, customerId: '3f1c2b4a-9d8e-4f7a-06c5-d4e3f2a1b0c9' }, // variant 0
  { tenantId: TENANT, customerId: '3f1c2b4a9d8e4f7ab6c5d4e3f2a1b0c9' },
  { tenantId: TENANT, customerId: ` ${TENANT}` },
  { tenantId: 'x', customerId: 'y' },
  { tenantId: TENANT },
  {},
  { tenantId: TENANT, customerId: TENANT, storeId: TENANT },
];

describe('RouteIds', () => {
  it('answers every input exactly as the @IsUUID() class did: same values, same field errors', async () => {
    for (const input of inputs) {
      const fast = await outcome(CustomerParams, input);
      const decorated = await outcome(DecoratedCustomerParams, input);
      expect({ input, ...fast, value: fast.value && { ...fast.value } }).toEqual({
        input,
        ...decorated,
        value: decorated.value && { ...decorated.value },
      });
    }
  });

  it('gives the handler an instance of its class', async () => {
    const value: unknown = await pipe.transform(
      { tenantId: TENANT, customerId: TENANT },
      asParams(CustomerParams),
    );
    expect(value).toBeInstanceOf(CustomerParams);
    expect(value).toEqual({ tenantId: TENANT, customerId: TENANT });
  });

  it('names each id that is no UUID', async () => {
    await expect(outcome(CustomerParams, { tenantId: TENANT, customerId: 'nope' })).resolves.toEqual({
      errors: [{ field: 'customerId', rule: 'isUuid', message: 'customerId must be a UUID' }],
    });
  });

  it('is only for route parameters: a body of the same class goes through class-validator', async () => {
    const body: ArgumentMetadata = { type: 'body', metatype: CustomerParams };
    // The class carries no class-validator rules, so as a body every property is unknown.
    await expect(pipe.transform({ tenantId: TENANT, customerId: TENANT }, body)).rejects.toThrow(
      ValidationFailedException,
    );
  });
});
