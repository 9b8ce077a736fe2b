export { type DeletionCertificate, verifyDeletionCertificate } from './deletion-certificate';
export { LifecycleModule } from './lifecycle.module';
export { LifecycleSchedule, type LifecycleRunReport } from './lifecycle-schedule';
export { TenantCancellation, type TenantStanding } from './tenant-cancellation';
export { TenantDeletions, type TenantDeletionRecord } from './tenant-deletions';
export { MANIFEST_FORMAT, type Manifest, type ManifestFile } from './export-archive';
export { EXPORT_TABLES, EXPORT_OBJECTS } from './export-tables';
// For the queue's tests (test/e2e/export-queue.e2e-spec.ts): the claim, lease and attempt rules.
export { type ExportJob, ExportQueue, LeaseLostError, MAX_ATTEMPTS } from './export-queue';
