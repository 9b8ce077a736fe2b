import { InitialSchema1795453200000 } from './1795453200000-initial-schema';
import { Identity1795460000000 } from './1795460000000-identity';
import { Invitations1795470000000 } from './1795470000000-invitations';
import { AuditTrail1795480000000 } from './1795480000000-audit-trail';
import { SupportGrants1795490000000 } from './1795490000000-support-grants';
import { Inventory1795500000000 } from './1795500000000-inventory';
import { Customers1795510000000 } from './1795510000000-customers';
import { Leads1795520000000 } from './1795520000000-leads';
import { Deals1795530000000 } from './1795530000000-deals';
import { MessagesBookings1795540000000 } from './1795540000000-messages-bookings';
import { SamlSso1795550000000 } from './1795550000000-saml-sso';
import { Backups1795560000000 } from './1795560000000-backups';
import { AuditSealedAppend1795570000000 } from './1795570000000-audit-sealed-append';
import { BackupRuns1795580000000 } from './1795580000000-backup-runs';
import { BackupOffsite1795590000000 } from './1795590000000-backup-offsite';
import { Billing1795600000000 } from './1795600000000-billing';
import { PlanLimits1795610000000 } from './1795610000000-plan-limits';
import { BillingStanding1795620000000 } from './1795620000000-billing-standing';
import { Exports1795630000000 } from './1795630000000-exports';
import { TenantLifecycle1795640000000 } from './1795640000000-tenant-lifecycle';
import { LeadVersions1795650000000 } from './1795650000000-lead-versions';
import { SessionProof1795660000000 } from './1795660000000-session-proof';
import { PlatformRoleVersion1795670000000 } from './1795670000000-platform-role-version';

/** Every migration, oldest first. A new migration is added here as well as to this folder. */
export const MIGRATIONS = [
  InitialSchema1795453200000,
  Identity1795460000000,
  Invitations1795470000000,
  AuditTrail1795480000000,
  SupportGrants1795490000000,
  Inventory1795500000000,
  Customers1795510000000,
  Leads1795520000000,
  Deals1795530000000,
  MessagesBookings1795540000000,
  SamlSso1795550000000,
  Backups1795560000000,
  AuditSealedAppend1795570000000,
  BackupRuns1795580000000,
  BackupOffsite1795590000000,
  Billing1795600000000,
  PlanLimits1795610000000,
  BillingStanding1795620000000,
  Exports1795630000000,
  TenantLifecycle1795640000000,
  LeadVersions1795650000000,
  SessionProof1795660000000,
  PlatformRoleVersion1795670000000,
];
