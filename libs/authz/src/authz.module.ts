import { Global, Module } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import { AccessGuard } from './access.guard';
import { PolicyCoverage } from './policy-coverage';
import { RowPolicy } from './row-policy';

@Global()
@Module({
  imports: [DiscoveryModule],
  providers: [AccessGuard, PolicyCoverage, RowPolicy],
  exports: [AccessGuard, RowPolicy],
})
export class AuthzModule {}
