import { Module } from '@nestjs/common';
import { StoreRepository } from './store.repository';
import { TenantDirectory } from './tenant-directory';

@Module({
  providers: [StoreRepository, TenantDirectory],
  exports: [StoreRepository, TenantDirectory],
})
export class TenantsModule {}
