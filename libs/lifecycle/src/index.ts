export { LifecycleModule } from './lifecycle.module';
export { MANIFEST_FORMAT, type Manifest, type ManifestFile } from './export-archive';
export { EXPORT_TABLES, EXPORT_OBJECTS } from './export-tables';
// For the queue's tests (test/e2e/export-queue.e2e-spec.ts): the claim, lease and attempt rules.
export { type ExportJob, ExportQueue, LeaseLostError, MAX_ATTEMPTS } from './export-queue';
