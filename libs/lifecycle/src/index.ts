export { LifecycleModule } from './lifecycle.module';
export { MANIFEST_FORMAT, type Manifest, type ManifestFile } from './export-archive';
export { EXPORT_TABLES, EXPORT_OBJECTS } from './export-tables';
