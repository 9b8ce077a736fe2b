export { type AuditEntry, type AuditEvent, PLATFORM_CHAIN, type SealedAuditEvent } from './audit-event';
export { AuditCheckpoints } from './audit-checkpoints';
export {
  csvHeader,
  EXPORT_FORMAT_VERSION,
  type ExportFormat,
  ExportFormatError,
  type ExportRecord,
  formatRecord,
} from './audit-export';
export { type AuditFilter, AuditLog } from './audit-log';
export { AuditModule } from './audit.module';
export { AuditSealer } from './audit-sealer';
export { AuditSigningKey, type PublishedKey } from './audit-signing-key';
export { appendToChains, AuditTrail, type RunSql } from './audit-trail';
export { type Checkpoint } from './checkpoint-note';
export { type VerifyReport } from './chain-verifier';
export { type ExportVerification, verifierKeys, verifyExport } from './export-verifier';
