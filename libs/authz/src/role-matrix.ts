/**
 * The role matrix of DESIGN §3, as data: the single source of every access decision. Guards,
 * row checks, list filters, field redaction, the explain endpoint and the published
 * `docs/security/role-matrix.md` all read it; nothing else grants anything.
 */
export const ROLES = [
  'platform_owner',
  'platform_support',
  'dealer_admin',
  'dealer_manager',
  'dealer_sales',
  'dealer_marketing',
] as const;
export type Role = (typeof ROLES)[number];
export type PlatformRole = Extract<Role, 'platform_owner' | 'platform_support'>;
export type DealerRole = Exclude<Role, PlatformRole>;

export const ACTIONS = [
  'manage',
  'create',
  'read',
  'update',
  'delete',
  'revoke_sessions',
  'reset_mfa',
  'deactivate',
  'resend',
  'assign',
  'export',
  'verify',
  'download',
  'approve',
  'revoke',
  'cancel',
  'restore',
] as const;
export type Action = (typeof ACTIONS)[number];

/** Every subject of DESIGN §3, with the fields a response about it may carry. */
export const SUBJECT_FIELDS = {
  Tenant: [
    'id',
    'slug',
    'name',
    'status',
    'plan',
    'region',
    'settings',
    'createdAt',
    'cancelledAt',
    'accessUntil',
    'deleteAfter',
  ],
  Store: ['id', 'name', 'brands', 'address', 'createdAt'],
  User: ['id', 'email', 'name', 'role', 'allStores', 'storeIds', 'status'],
  Invitation: ['id', 'email', 'role', 'allStores', 'storeIds', 'expiresAt'],
  StaffInvitation: ['id', 'email', 'role', 'expiresAt'],
  Vehicle: [
    'id',
    'storeId',
    'vin',
    'year',
    'make',
    'model',
    'trim',
    'mileage',
    'priceMinor',
    'currency',
    'status',
    'acquiredAt',
    'daysInStock',
  ],
  VehicleMedia: ['id', 'vehicleId', 'contentType', 'size', 'sha256'],
  Customer: [
    'id',
    'storeId',
    'name',
    'email',
    'phone',
    'address',
    'nationalId',
    'driverLicense',
    'sensitive',
    'notes',
    'consents',
    'createdAt',
  ],
  Lead: [
    'id',
    'storeId',
    'customerId',
    'customerName',
    'customerEmail',
    'customerPhone',
    'vehicleId',
    'source',
    'status',
    'lostReason',
    'assignedUserId',
    'createdAt',
    'version',
  ],
  Booking: [
    'id',
    'storeId',
    'leadId',
    'customerName',
    'kind',
    'vehicleId',
    'startsAt',
    'endsAt',
    'assignedUserId',
    'status',
  ],
  Message: ['id', 'leadId', 'direction', 'channel', 'body', 'authorId', 'at'],
  Deal: [
    'id',
    'storeId',
    'customerId',
    'customerName',
    'vehicleId',
    'priceMinor',
    'currency',
    'status',
    'assignedUserId',
    'signedAt',
    'deliveredAt',
    'cancelledAt',
    'createdAt',
    'billOfSale',
  ],
  Plan: ['code', 'name', 'pricePerStoreMinor', 'currency', 'limits'],
  Subscription: ['provider', 'status', 'currentPeriodEnd', 'cancelAtPeriodEnd', 'plan', 'readOnlyFrom'],
  Invoice: ['id', 'amountMinor', 'currency', 'status', 'hostedInvoiceUrl', 'issuedAt'],
  AuditEvent: [
    'seq',
    'id',
    'tenantId',
    'at',
    'actorId',
    'actorRole',
    'supportGrantId',
    'action',
    'subjectType',
    'subjectId',
    'subjectIds',
    'storeId',
    'requestId',
    'ip',
    'userAgent',
    'outcome',
    'reason',
    'changedFields',
    'prevHash',
    'hash',
  ],
  Export: ['id', 'status', 'progress', 'rowCount', 'createdAt', 'expiresAt'],
  SupportGrant: [
    'id',
    'tenantId',
    'requesterId',
    'reason',
    'scope',
    'status',
    'durationMinutes',
    'expiresAt',
    'approvedBy',
  ],
  // A connector's credentials are write-only: they are no field of any response.
  Connector: ['id', 'kind', 'status', 'governance', 'updatedAt'],
  Backup: [
    'id',
    'createdAt',
    'status',
    'finishedAt',
    'sizeBytes',
    'dataBytes',
    'rowCount',
    'verifyStatus',
    'verifiedAt',
    'verifyMs',
    'verifyDetail',
    'error',
    'localCopy',
    'offsiteCopy',
    'offsiteStatus',
    'offsiteError',
  ],
  // "Why may (or may not) this person do this?": the explain endpoint.
  AccessDecision: ['allowed', 'reason', 'rule'],
  // What the platform keeps of a deleted tenant: no name, no person; counts and the certificate.
  TenantDeletion: [
    'tenantId',
    'state',
    'reason',
    'startedAt',
    'completedAt',
    'rowCounts',
    'objectsDeleted',
    'certificate',
    'signature',
  ],
} as const satisfies Record<string, readonly string[]>;

export type Subject = keyof typeof SUBJECT_FIELDS;
export const SUBJECTS = Object.keys(SUBJECT_FIELDS) as Subject[];

/** A customer's personal data wherever it shows: what redaction removes for marketing. */
const CUSTOMER_PII = {
  Customer: ['name', 'email', 'phone', 'address', 'nationalId', 'driverLicense', 'sensitive', 'notes'],
  Lead: ['customerName', 'customerEmail', 'customerPhone'],
  Booking: ['customerName'],
  Deal: ['customerName'],
} as const satisfies Partial<Record<Subject, readonly string[]>>;

/** The fields of `subject` without `left`. */
function fieldsWithout<S extends Subject>(subject: S, left: readonly string[]): string[] {
  return SUBJECT_FIELDS[subject].filter((field: string) => !left.includes(field));
}

/**
 * Where a grant applies:
 * - `everywhere`: platform-wide (platform roles only);
 * - `own_tenant`: rows of the tenant (for a platform role: of the tenant whose grant is active);
 * - `stores_in_scope`: rows of the tenant in the membership's stores;
 * - `assigned_to_self`: rows in scope assigned to the caller (`assignedUserId`);
 * - `own_record`: the caller's own row (`userId`: a user's id, a grant's requester);
 * - `caused_by_self`: audit events the caller caused (`actorId`).
 */
export const REACHES = [
  'everywhere',
  'own_tenant',
  'stores_in_scope',
  'assigned_to_self',
  'own_record',
  'caused_by_self',
] as const;
export type Reach = (typeof REACHES)[number];

/** What a support grant lets platform staff do in one tenant while it is active. */
export const GRANT_SCOPES = ['read', 'support'] as const;
export type GrantScope = (typeof GRANT_SCOPES)[number];

export interface Grant {
  actions: readonly Action[];
  subject: Subject;
  reach: Reach;
  /** The fields it covers; absent: every field of the subject. */
  fields?: readonly string[];
  /** Platform roles: only in a tenant that approved an active support grant of this scope. */
  underGrant?: GrantScope;
  /** Dealer roles: only while the tenant's policy lets the role see customers' personal data. */
  whenPiiVisible?: boolean;
}

const grant = (
  actions: Action | readonly Action[],
  subject: Subject,
  reach: Reach,
  options: Omit<Grant, 'actions' | 'subject' | 'reach'> = {},
): Grant => ({ actions: typeof actions === 'string' ? [actions] : actions, subject, reach, ...options });

const DEALER_DATA = ['Vehicle', 'VehicleMedia', 'Customer', 'Lead', 'Booking', 'Message', 'Deal'] as const;
const many = (subjects: readonly Subject[], make: (subject: Subject) => Grant): Grant[] => subjects.map(make);

/** Marketing reads customers' business without their personal data (unless the tenant allows it). */
const marketingRead = (subject: keyof typeof CUSTOMER_PII): Grant[] => [
  grant('read', subject, 'stores_in_scope', { fields: fieldsWithout(subject, CUSTOMER_PII[subject]) }),
  grant('read', subject, 'stores_in_scope', { whenPiiVisible: true }),
];

export const ROLE_MATRIX: Record<Role, readonly Grant[]> = {
  platform_owner: [
    grant('manage', 'Tenant', 'everywhere'),
    grant('manage', 'Store', 'everywhere'),
    grant(['read', 'deactivate'], 'User', 'everywhere'),
    grant('manage', 'StaffInvitation', 'everywhere'),
    // No standing access to dealer business data: only under an approved grant.
    ...many(DEALER_DATA, (subject) => grant('read', subject, 'own_tenant', { underGrant: 'read' })),
    grant(['create', 'read', 'download'], 'Export', 'own_tenant', { underGrant: 'read' }),
    // A support grant: the tenant's configuration, and the support actions.
    grant('read', 'Tenant', 'own_tenant', { underGrant: 'support' }),
    grant('read', 'Store', 'own_tenant', { underGrant: 'support' }),
    grant(['read', 'reset_mfa'], 'User', 'own_tenant', { underGrant: 'support' }),
    grant('resend', 'Invitation', 'own_tenant', { underGrant: 'support' }),
    grant('manage', 'Plan', 'everywhere'),
    grant('read', 'Subscription', 'everywhere'),
    grant('read', 'Invoice', 'everywhere'),
    grant(['read', 'verify', 'export'], 'AuditEvent', 'everywhere'),
    grant(['create', 'read', 'approve', 'revoke'], 'SupportGrant', 'everywhere'),
    grant('read', 'Connector', 'everywhere'),
    grant('update', 'Connector', 'everywhere', { fields: ['governance'] }),
    grant('manage', 'Backup', 'everywhere'),
    grant('read', 'AccessDecision', 'everywhere'),
    grant(['create', 'read'], 'TenantDeletion', 'everywhere'),
  ],
  platform_support: [
    grant('read', 'Tenant', 'everywhere', {
      fields: ['id', 'slug', 'name', 'status', 'cancelledAt', 'accessUntil', 'deleteAfter'],
    }),
    grant('read', 'Store', 'everywhere'),
    grant('read', 'User', 'everywhere', { fields: ['id', 'name', 'email'] }),
    grant('read', 'Tenant', 'own_tenant', {
      underGrant: 'support',
      fields: ['id', 'slug', 'name', 'status'],
    }),
    grant('read', 'Store', 'own_tenant', { underGrant: 'support' }),
    grant('read', 'User', 'own_tenant', { underGrant: 'support', fields: ['id', 'name', 'email'] }),
    grant('reset_mfa', 'User', 'own_tenant', { underGrant: 'support' }),
    grant('resend', 'Invitation', 'own_tenant', { underGrant: 'support' }),
    grant('read', 'Vehicle', 'own_tenant', { underGrant: 'read' }),
    grant('read', 'VehicleMedia', 'own_tenant', { underGrant: 'read' }),
    grant('read', 'Lead', 'own_tenant', {
      underGrant: 'read',
      fields: fieldsWithout('Lead', CUSTOMER_PII.Lead),
    }),
    grant('read', 'Booking', 'own_tenant', {
      underGrant: 'read',
      fields: fieldsWithout('Booking', CUSTOMER_PII.Booking),
    }),
    grant('read', 'AuditEvent', 'caused_by_self'),
    grant('create', 'SupportGrant', 'everywhere'),
    grant('read', 'SupportGrant', 'own_record'),
    grant('read', 'Connector', 'everywhere', { fields: ['id', 'kind', 'status'] }),
    grant('read', 'Backup', 'everywhere', { fields: ['id', 'createdAt', 'verifyStatus', 'verifiedAt'] }),
  ],
  dealer_admin: [
    grant(['read', 'update', 'cancel'], 'Tenant', 'own_tenant'),
    grant('manage', 'Store', 'own_tenant'),
    grant('manage', 'User', 'own_tenant'),
    grant('manage', 'Invitation', 'own_tenant'),
    ...many(DEALER_DATA, (subject) => grant('manage', subject, 'own_tenant')),
    grant(['read', 'update'], 'Subscription', 'own_tenant'),
    grant('read', 'Invoice', 'own_tenant'),
    grant(['read', 'verify', 'export'], 'AuditEvent', 'own_tenant'),
    grant(['create', 'read', 'download'], 'Export', 'own_tenant'),
    grant(['read', 'approve', 'revoke'], 'SupportGrant', 'own_tenant'),
    grant('manage', 'Connector', 'own_tenant'),
    grant('read', 'AccessDecision', 'own_tenant'),
  ],
  dealer_manager: [
    grant('read', 'Tenant', 'own_tenant'),
    grant('read', 'Store', 'stores_in_scope'),
    // Colleagues of the group (names and e-mails; their stores are not narrowed further).
    grant('read', 'User', 'own_tenant'),
    ...many(DEALER_DATA, (subject) => grant('manage', subject, 'stores_in_scope')),
  ],
  dealer_sales: [
    grant('read', 'Tenant', 'own_tenant'),
    grant('read', 'Store', 'stores_in_scope'),
    grant('read', 'User', 'own_record'),
    grant('read', 'Vehicle', 'stores_in_scope'),
    grant('read', 'VehicleMedia', 'stores_in_scope'),
    grant(['create', 'read', 'update'], 'Customer', 'stores_in_scope'),
    grant('create', 'Lead', 'stores_in_scope'),
    grant(['read', 'update'], 'Lead', 'assigned_to_self'),
    grant('create', 'Booking', 'stores_in_scope'),
    grant(['read', 'update'], 'Booking', 'assigned_to_self'),
    grant(['create', 'read'], 'Message', 'assigned_to_self'),
    grant(['create', 'read', 'update'], 'Deal', 'assigned_to_self'),
  ],
  dealer_marketing: [
    grant('read', 'Tenant', 'own_tenant'),
    grant('read', 'Store', 'stores_in_scope'),
    grant('read', 'User', 'own_record'),
    grant('read', 'Vehicle', 'stores_in_scope'),
    grant('read', 'VehicleMedia', 'stores_in_scope'),
    ...marketingRead('Customer'),
    ...marketingRead('Lead'),
    ...marketingRead('Booking'),
    // Amounts, never who bought.
    grant('read', 'Deal', 'stores_in_scope', {
      fields: fieldsWithout('Deal', ['customerId', 'customerName']),
    }),
  ],
};

export function isRole(value: unknown): value is Role {
  return typeof value === 'string' && (ROLES as readonly string[]).includes(value);
}

export function isSubject(value: unknown): value is Subject {
  return typeof value === 'string' && Object.hasOwn(SUBJECT_FIELDS, value);
}

export function isAction(value: unknown): value is Action {
  return typeof value === 'string' && (ACTIONS as readonly string[]).includes(value);
}
