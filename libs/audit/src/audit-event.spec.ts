import type { RequestContext } from '@forecourt/core';
import { actorOf, type AuditEvent, auditEvent, PLATFORM_CHAIN } from './audit-event';

const TENANT = '6f1c2a4e-8b3d-4c5e-9f10-123456789abc';
const EVENT_ID = '0193a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b';
const USER = '1b2c3d4e-5f60-4718-9a2b-3c4d5e6f7081';
const AT = new Date('2025-03-01T09:30:00.123Z');

function ctxOf(overrides: Partial<RequestContext> = {}): RequestContext {
  return {
    requestId: 'req-1',
    ip: '203.0.113.7',
    userAgent: 'Mozilla/5.0',
    principal: null,
    tenant: null,
    ...overrides,
  };
}
const principal = (platformRole: 'platform_owner' | 'platform_support' | null = null) => ({
  userId: USER,
  sessionId: 'session-1',
  platformRole,
});
const tenantAccess = (role: string) => ({ tenantId: TENANT, role, stores: 'all' as const });

describe('actorOf', () => {
  it('is the system for work outside any request', () => {
    expect(actorOf(null)).toEqual({ actorId: null, actorRole: 'system' });
  });

  it('is anonymous for a request nobody signed in to', () => {
    expect(actorOf(ctxOf())).toEqual({ actorId: null, actorRole: 'anonymous' });
  });

  it('is a signed-in user without a role where no tenant is in play', () => {
    expect(actorOf(ctxOf({ principal: principal() }))).toEqual({ actorId: USER, actorRole: 'user' });
  });

  it.each(['platform_owner', 'platform_support'] as const)('is platform staff acting as %s', (role) => {
    expect(actorOf(ctxOf({ principal: principal(role) }))).toEqual({ actorId: USER, actorRole: role });
  });

  it('is the tenant role inside a tenant, before any platform role', () => {
    expect(actorOf(ctxOf({ principal: principal(), tenant: tenantAccess('manager') }))).toEqual({
      actorId: USER,
      actorRole: 'manager',
    });
    expect(
      actorOf(ctxOf({ principal: principal('platform_support'), tenant: tenantAccess('sales') })),
    ).toEqual({
      actorId: USER,
      actorRole: 'sales',
    });
  });
});

describe('auditEvent', () => {
  it('builds the whole event from the entry and the context', () => {
    const ctx = ctxOf({ principal: principal(), tenant: tenantAccess('manager') });
    const event = auditEvent(
      TENANT,
      EVENT_ID,
      ctx,
      {
        action: 'customer.updated',
        subjectType: 'customer',
        subjectId: 'c0ffee00-0000-4000-8000-000000000001',
        storeId: '5707e000-0000-4000-8000-000000000001',
        changedFields: ['phone', 'email'],
      },
      AT,
    );
    expect(event).toEqual<AuditEvent>({
      tenantId: TENANT,
      id: EVENT_ID,
      at: '2025-03-01T09:30:00.123Z',
      actorId: USER,
      actorRole: 'manager',
      supportGrantId: null,
      action: 'customer.updated',
      subjectType: 'customer',
      subjectId: 'c0ffee00-0000-4000-8000-000000000001',
      subjectIds: null,
      storeId: '5707e000-0000-4000-8000-000000000001',
      requestId: 'req-1',
      ip: '203.0.113.7',
      userAgent: 'Mozilla/5.0',
      outcome: 'allowed',
      reason: null,
      changedFields: ['email', 'phone'],
    });
  });

  it('records a job as the system, with no request details', () => {
    const event = auditEvent(
      PLATFORM_CHAIN,
      EVENT_ID,
      null,
      { action: 'audit.sealed', subjectType: 'chain' },
      AT,
    );
    expect(event).toMatchObject({
      tenantId: PLATFORM_CHAIN,
      actorId: null,
      actorRole: 'system',
      requestId: null,
      ip: null,
      userAgent: null,
      subjectId: null,
      subjectIds: null,
      storeId: null,
      reason: null,
      changedFields: null,
      outcome: 'allowed',
    });
  });

  it('stores empty strings as null', () => {
    const event = auditEvent(
      TENANT,
      EVENT_ID,
      ctxOf({ requestId: '', ip: '', userAgent: '' }),
      {
        action: 'auth.login.failed',
        subjectType: 'user',
        subjectId: '',
        storeId: '',
        reason: '',
        outcome: 'denied',
      },
      AT,
    );
    expect(event).toMatchObject({
      requestId: null,
      ip: null,
      userAgent: null,
      subjectId: null,
      storeId: null,
      reason: null,
      outcome: 'denied',
    });
    for (const value of Object.values(event)) expect(value).not.toBe('');
  });

  it('sorts changedFields, on a copy of the caller’s list', () => {
    const changed = ['phone', 'email', 'address', 'Zip'];
    const event = auditEvent(TENANT, EVENT_ID, null, {
      action: 'customer.updated',
      subjectType: 'customer',
      changedFields: changed,
    });
    expect(event.changedFields).toEqual(['Zip', 'address', 'email', 'phone']);
    expect(changed).toEqual(['phone', 'email', 'address', 'Zip']);
    expect(
      auditEvent(TENANT, EVENT_ID, null, { action: 'a.b', subjectType: 'a', changedFields: [] })
        .changedFields,
    ).toEqual([]);
  });

  it('copies subjectIds, keeping their order', () => {
    const ids = ['c', 'a', 'b'];
    const event = auditEvent(TENANT, EVENT_ID, null, {
      action: 'customer.list',
      subjectType: 'customer',
      subjectIds: ids,
    });
    expect(event.subjectIds).toEqual(['c', 'a', 'b']);
    ids.push('d');
    expect(event.subjectIds).toEqual(['c', 'a', 'b']);
  });

  it('caps userAgent at 512 characters', () => {
    const long = 'M'.repeat(300) + 'z'.repeat(300);
    const event = auditEvent(TENANT, EVENT_ID, ctxOf({ userAgent: long }), {
      action: 'a.b',
      subjectType: 'a',
    });
    expect(event.userAgent).toHaveLength(512);
    expect(event.userAgent).toBe(long.slice(0, 512));
    const exact = 'x'.repeat(512);
    expect(
      auditEvent(TENANT, EVENT_ID, ctxOf({ userAgent: exact }), { action: 'a.b', subjectType: 'a' })
        .userAgent,
    ).toBe(exact);
  });

  it('cuts the userAgent on whole characters, never halfway through a surrogate pair', () => {
    const emoji = '\u{1F697}'.repeat(600); // two UTF-16 code units each
    const agent = auditEvent(TENANT, EVENT_ID, ctxOf({ userAgent: emoji }), {
      action: 'a.b',
      subjectType: 'a',
    }).userAgent!;
    expect(Array.from(agent)).toHaveLength(512);
    expect(agent).toBe('\u{1F697}'.repeat(512));
    expect(JSON.parse(JSON.stringify(agent)) as string).toBe(agent);
    expect(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])/.test(agent)).toBe(false);
  });

  it('lets the entry name the actor and role', () => {
    const event = auditEvent(TENANT, EVENT_ID, ctxOf(), {
      action: 'invitation.accept',
      subjectType: 'invitation',
      actorId: USER,
      actorRole: 'sales',
    });
    expect(event).toMatchObject({ actorId: USER, actorRole: 'sales' });
  });

  it('stamps the current time by default, in ISO 8601 with milliseconds', () => {
    const before = Date.now();
    const event = auditEvent(TENANT, EVENT_ID, null, { action: 'a.b', subjectType: 'a' });
    expect(event.at).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
    expect(Date.parse(event.at)).toBeGreaterThanOrEqual(before);
    expect(Date.parse(event.at)).toBeLessThanOrEqual(Date.now());
  });
});
