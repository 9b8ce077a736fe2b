import { Injectable } from '@nestjs/common';
import { parsePhoneNumberFromString, type CountryCode } from 'libphonenumber-js';
import { DatabaseError } from 'pg';
import { AuditTrail } from '@forecourt/audit';
import {
  accessibleWhere,
  type AppAbility,
  readableFields,
  RowPolicy,
  type RowColumns,
} from '@forecourt/authz';
import {
  decodeCursor,
  DEFAULT_PAGE_SIZE,
  newId,
  type Page,
  pageOf,
  type RequestContext,
} from '@forecourt/core';
import { TenantKeys } from '@forecourt/crypto';
import {
  isoTimestampSql,
  startsWithSql,
  tenantScopeOf,
  type TenantQueries,
  TenantTransaction,
  type TenantWork,
} from '@forecourt/database';
import { assertNoCardNumber } from './card-number';
import { contextOf, SEALED, type SealedField, SEALED_FIELDS } from './customer-identifiers';
import { CURRENT_CONSENTS } from './consent';
import type {
  CreateCustomerDto,
  CustomerDto,
  CustomerQueryDto,
  CustomerSummaryDto,
  PatchCustomerDto,
} from './customer.dto';
import { LeadsError, LeadsErrorCode } from './leads-error';

/** Plain columns a PATCH may change. */
const PLAIN = {
  storeId: 'store_id',
  name: 'name',
  email: 'email',
  phone: 'phone',
  address: 'address',
  notes: 'notes',
} as const;

const SUMMARY_COLUMNS = `c.id, c.store_id as "storeId", c.name, c.email, c.phone, ${CURRENT_CONSENTS} as consents,
  ${isoTimestampSql('c.created_at')} as "createdAt"`;
const DETAIL_COLUMNS = `${SUMMARY_COLUMNS}, c.address, c.notes,
  c.national_id as "nationalId", c.driver_license as "driverLicense", c.sensitive`;
const READ_CUSTOMER = `select ${DETAIL_COLUMNS} from customers c where c.tenant_id = $1 and c.id = $2`;
const CUSTOMER_ROW: RowColumns = { tenantId: 'c.tenant_id', storeId: 'c.store_id' };
const MAX_SENSITIVE_KEYS = 20;

/** A customer row as read, its identifiers still sealed. */
type SealedCustomer = Omit<CustomerDto, SealedField> & Record<SealedField, Buffer | null>;

/**
 * The customers of the caller's stores: the most personal data Forecourt holds. Identifiers are
 * sealed per field under the tenant's key (bound to the customer and the field), opened only for
 * a caller whose permitted fields include them; name, e-mail and phone are stored normalised, so
 * search needs no decryption. Every read is audited, a list read with the ids it returned.
 */
@Injectable()
export class Customers {
  constructor(
    private readonly transactions: TenantTransaction,
    private readonly keys: TenantKeys,
    private readonly audit: AuditTrail,
    private readonly rows: RowPolicy,
  ) {}

  async create(ctx: RequestContext, ability: AppAbility, body: CreateCustomerDto): Promise<CustomerDto> {
    const scope = tenantScopeOf(ctx);
    const id = newId();
    const plain = plainValues(body);
    assertSensitive(body.sensitive);
    return this.translated(() =>
      this.transactions.run(scope, async (tx) => {
        const sealed = await this.sealAll(tx, id, body);
        await tx.query(
          `insert into customers (tenant_id, id, store_id, name, email, phone, address, notes,
             national_id, driver_license, sensitive)
           values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
          [
            scope.tenantId,
            id,
            body.storeId,
            plain.name,
            plain.email ?? null,
            plain.phone ?? null,
            plain.address ?? null,
            plain.notes ?? null,
            sealed.nationalId ?? null,
            sealed.driverLicense ?? null,
            sealed.sensitive ?? null,
          ],
        );
        await this.audit.append(tx, ctx, {
          action: 'customer.create',
          subjectType: 'Customer',
          subjectId: id,
          storeId: body.storeId,
        });
        return this.opened(tx, ability, await this.customer(tx, id));
      }),
    );
  }

  /** A page of the customers the caller may read — summaries: never the sealed identifiers. */
  async list(
    ctx: RequestContext,
    ability: AppAbility,
    query: CustomerQueryDto,
  ): Promise<Page<CustomerSummaryDto>> {
    const scope = tenantScopeOf(ctx);
    const limit = query.limit ?? DEFAULT_PAGE_SIZE;
    const listing = customerListQuery(scope.tenantId, ability, query, limit);
    const { rows } = await this.transactions.statement<CustomerSummaryDto>(
      scope,
      listing.sql,
      listing.params,
    );
    const page = pageOf(rows, limit);
    await this.audit.record(ctx, scope.tenantId, {
      action: 'customer.list',
      subjectType: 'Customer',
      subjectIds: page.data.map((customer) => customer.id),
    });
    return page;
  }

  /**
   * One customer, its identifiers opened only where the caller may read them; the read is recorded.
   * The hottest read of the sales floor: one prepared statement, no explicit transaction.
   */
  async get(ctx: RequestContext, ability: AppAbility, customerId: string): Promise<CustomerDto> {
    const scope = tenantScopeOf(ctx);
    const { rows } = await this.transactions.statement<SealedCustomer>(
      scope,
      READ_CUSTOMER,
      [scope.tenantId, customerId],
      { prepared: true },
    );
    const row = found(rows);
    await this.rows.assert(ctx, ability, 'read', 'Customer', { tenantId: scope.tenantId, ...row });
    const customer = await this.opened(this.transactions.queries(scope), ability, row);
    await this.audit.record(ctx, scope.tenantId, {
      action: 'customer.read',
      subjectType: 'Customer',
      subjectId: customerId,
      storeId: customer.storeId,
    });
    return customer;
  }

  /** Changes the given fields; the event names them, never their values. */
  async update(
    ctx: RequestContext,
    ability: AppAbility,
    customerId: string,
    patch: PatchCustomerDto,
  ): Promise<CustomerDto> {
    const scope = tenantScopeOf(ctx);
    const plain = plainValues(patch);
    assertSensitive(patch.sensitive);
    return this.translated(() =>
      this.transactions.run(scope, async (tx) => {
        const current = await this.customer(tx, customerId, { lock: true });
        await this.rows.assert(ctx, ability, 'update', 'Customer', { tenantId: scope.tenantId, ...current });
        const params: unknown[] = [scope.tenantId, customerId];
        const assignments: string[] = [];
        const changed: string[] = [];
        for (const [field, column] of Object.entries(PLAIN) as [keyof typeof PLAIN, string][]) {
          const value = plain[field];
          if (value === undefined || JSON.stringify(value) === JSON.stringify(current[field] ?? null))
            continue;
          params.push(value);
          assignments.push(`${column} = $${params.length}`);
          changed.push(field);
        }
        const sealed = await this.sealAll(tx, customerId, patch);
        for (const field of SEALED_FIELDS) {
          if (sealed[field] === undefined) continue;
          params.push(sealed[field]);
          assignments.push(`${SEALED[field]} = $${params.length}`);
          changed.push(field);
        }
        if (changed.length > 0) {
          await tx.query(
            `update customers set ${assignments.join(', ')}, updated_at = now() where tenant_id = $1 and id = $2`,
            params,
          );
          await this.audit.append(tx, ctx, {
            action: 'customer.update',
            subjectType: 'Customer',
            subjectId: customerId,
            storeId: plain.storeId ?? current.storeId,
            changedFields: changed.sort(),
          });
        }
        return this.opened(tx, ability, await this.customer(tx, customerId));
      }),
    );
  }

  private async customer(
    tx: TenantWork,
    customerId: string,
    options: { lock?: boolean } = {},
  ): Promise<SealedCustomer> {
    const { rows } = await tx.query<SealedCustomer>(
      `${READ_CUSTOMER}${options.lock ? ' for update of c' : ''}`,
      [tx.scope.tenantId, customerId],
    );
    return found(rows);
  }

  /** The row with its sealed identifiers opened — only those the caller may read; the rest null. */
  private async opened(tx: TenantQueries, ability: AppAbility, row: SealedCustomer): Promise<CustomerDto> {
    const readable = readableFields(ability, 'Customer');
    const open = async (field: SealedField): Promise<string | null> => {
      const sealed = row[field];
      if (!sealed || !readable.has(field)) return null;
      return (await this.keys.open(tx, sealed, contextOf(row.id, field))).toString('utf8');
    };
    const sensitive = await open('sensitive');
    return {
      ...row,
      nationalId: await open('nationalId'),
      driverLicense: await open('driverLicense'),
      sensitive: sensitive === null ? null : (JSON.parse(sensitive) as Record<string, string>),
    };
  }

  /** Seals each identifier given; null where it is removed, absent where none was given. */
  private async sealAll(
    tx: TenantWork,
    customerId: string,
    body: PatchCustomerDto,
  ): Promise<Partial<Record<SealedField, Buffer | null>>> {
    const sealed: Partial<Record<SealedField, Buffer | null>> = {};
    for (const field of SEALED_FIELDS) {
      const value = body[field] as string | Record<string, string> | null | undefined;
      if (value === undefined) continue;
      if (value === null) {
        sealed[field] = null; // removed
        continue;
      }
      const text = typeof value === 'string' ? value : JSON.stringify(value);
      sealed[field] = await this.keys.seal(tx, Buffer.from(text, 'utf8'), contextOf(customerId, field));
    }
    return sealed;
  }

  private async translated<T>(work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (error) {
      if (error instanceof DatabaseError && error.code === '23503') {
        throw new LeadsError(LeadsErrorCode.UnknownStore, 'storeId: no such store in this group');
      }
      throw error;
    }
  }
}

/** The plain values of a body, normalised (the phone as E.164); null removes an optional one. */
function plainValues(body: PatchCustomerDto): {
  storeId?: string;
  name?: string;
  email?: string | null;
  phone?: string | null;
  address?: object | null;
  notes?: string | null;
} {
  for (const required of ['storeId', 'name'] as const) {
    if ((body[required] as unknown) === null) {
      throw new LeadsError(LeadsErrorCode.Required, `${required}: a customer always has one`);
    }
  }
  let phone: string | null | undefined = body.phone === null ? null : undefined;
  if (body.phone !== undefined && body.phone !== null) {
    const parsed = parsePhoneNumberFromString(body.phone, body.phoneCountry as CountryCode | undefined);
    if (!parsed?.isValid()) {
      throw new LeadsError(
        LeadsErrorCode.InvalidPhone,
        'phone: not a valid phone number (give it in international form, +…, or with phoneCountry)',
      );
    }
    phone = parsed.number;
  }
  return {
    storeId: body.storeId,
    name: body.name,
    email: body.email,
    phone,
    address: body.address ? { ...body.address } : body.address,
    notes: body.notes,
  };
}

/** The free-form identifiers: a small map of short strings, none of them a card number. */
function assertSensitive(sensitive: Record<string, unknown> | undefined): void {
  if (sensitive === undefined) return;
  const entries = Object.entries(sensitive);
  const bad = (why: string) => new LeadsError(LeadsErrorCode.InvalidSensitive, `sensitive: ${why}`);
  if (entries.length > MAX_SENSITIVE_KEYS) throw bad(`at most ${MAX_SENSITIVE_KEYS} identifiers`);
  for (const [key, value] of entries) {
    if (!/^[A-Za-z][A-Za-z0-9_]{0,39}$/.test(key)) throw bad('keys are letters, digits and _ (at most 40)');
    if (typeof value !== 'string' || value.length < 1 || value.length > 200) {
      throw bad('every value is a string of 1 to 200 characters');
    }
    assertNoCardNumber(`sensitive.${key}`, value);
  }
}

function found(rows: SealedCustomer[]): SealedCustomer {
  if (!rows[0]) throw new LeadsError(LeadsErrorCode.CustomerNotFound, 'No such customer');
  return rows[0];
}

/** The statement of one page of the customer list (exported for the plan test). */
export function customerListQuery(
  tenantId: string,
  ability: AppAbility,
  query: CustomerQueryDto,
  limit: number,
): { sql: string; params: unknown[] } {
  const params: unknown[] = [tenantId, decodeCursor(query.cursor), limit + 1];
  const where = ['c.tenant_id = $1', '($2::uuid is null or c.id > $2)'];
  if (query.storeId !== undefined) {
    params.push(query.storeId);
    where.push(`c.store_id = $${params.length}`);
  }
  if (query.q !== undefined) {
    params.push(query.q.toLowerCase(), query.q.replace(/\D/g, ''));
    const [text, digits] = [`$${params.length - 1}`, `$${params.length}`];
    // The phone's last digits, when the search has at least four of them.
    where.push(
      `(${startsWithSql('c.name_key', text)} or ${startsWithSql('c.email', text)}
        or (length(${digits}) >= 4 and ${startsWithSql('c.phone_reversed', `reverse(${digits})`)}))`,
    );
  }
  const readable = accessibleWhere(ability, 'read', 'Customer', CUSTOMER_ROW, params.length + 1);
  return {
    sql: `select ${SUMMARY_COLUMNS} from customers c
      where ${where.join(' and ')} and ${readable.sql}
      order by c.id limit $3`,
    params: [...params, ...readable.params],
  };
}
