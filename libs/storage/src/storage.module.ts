import { Global, Module } from '@nestjs/common';
import { ObjectStore } from './object-store';

/** Object storage; needs `APP_CONFIG` (from `ConfigModule`). */
@Global()
@Module({
  providers: [ObjectStore],
  exports: [ObjectStore],
})
export class StorageModule {}
