export { type DeletionCertificate, verifyDeletionCertificate } from './deletion-certificate';
export { LifecycleModule } from './lifecycle.module';
export { LifecycleSchedule, type LifecycleRunReport } from './lifecycle-schedule';
export { TenantCancellation, type TenantStanding } from './tenant-cancellation';
export { TenantDeletions, type TenantDeletionRecord } from './tenant-deletions';
