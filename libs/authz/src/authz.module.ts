import { Global, Module } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import { AccessGuard } from './access.guard';
import { PolicyCoverage } from './policy-coverage';
import { RowPolicy } from './row-policy';
import { AccessExplainer } from './access-explainer';
import { TenantAccessLookup } from './tenant-access';

@Global()
@Module({
  imports: [DiscoveryModule],
  providers: [AccessGuard, PolicyCoverage, RowPolicy, TenantAccessLookup, AccessExplainer],
  exports: [AccessGuard, RowPolicy, AccessExplainer, TenantAccessLookup],
})
export class AuthzModule {}
