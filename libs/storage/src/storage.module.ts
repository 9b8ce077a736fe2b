import { Global, Inject, Module, type OnApplicationShutdown } from '@nestjs/common';
import { join } from 'node:path';
import { APP_CONFIG, type AppConfig } from '@forecourt/config';
import { LocalObjectDriver } from './local-driver';
import type { ObjectDriver } from './object-driver';
import { ObjectDeletions } from './object-deletions';
import { OBJECT_DRIVER, ObjectStore } from './object-store';
import { S3ObjectDriver } from './s3-driver';

/** The driver the configuration asks for: the S3-compatible bucket when `S3_*` is set, else local files. */
export function objectDriverFor(config: AppConfig): ObjectDriver {
  return config.objectStorage
    ? new S3ObjectDriver(config.objectStorage, config.objectStorageOptions)
    : new LocalObjectDriver(join(config.dataDir, 'objects'));
}

/** Encrypted object storage; needs `APP_CONFIG`, `CryptoModule` and the database module. */
@Global()
@Module({
  providers: [
    { provide: OBJECT_DRIVER, inject: [APP_CONFIG], useFactory: objectDriverFor },
    ObjectStore,
    ObjectDeletions,
  ],
  exports: [ObjectStore, ObjectDeletions],
})
export class StorageModule implements OnApplicationShutdown {
  constructor(@Inject(OBJECT_DRIVER) private readonly driver: ObjectDriver) {}

  onApplicationShutdown(): void {
    if (this.driver instanceof S3ObjectDriver) this.driver.close();
  }
}
