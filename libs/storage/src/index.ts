export { ObjectKeyError, ObjectStore } from './object-store';
export { StorageModule } from './storage.module';
