export { checkedKey, type ObjectDriver, ObjectKeyError } from './object-driver';
export { LocalObjectDriver } from './local-driver';
export { S3ObjectDriver, type S3DriverOptions } from './s3-driver';
export { OBJECT_DRIVER, objectKeyOf, type ObjectOwner, ObjectStore, type StoredObject } from './object-store';
export { objectDriverFor, StorageModule } from './storage.module';
export { ObjectDeletions } from './object-deletions';
