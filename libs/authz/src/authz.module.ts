import { Global, Module } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import { AccessGuard } from './access.guard';
import { PolicyCoverage } from './policy-coverage';
import { RedactionInterceptor } from './redaction';
import { RowPolicy } from './row-policy';

@Global()
@Module({
  imports: [DiscoveryModule],
  providers: [AccessGuard, PolicyCoverage, RowPolicy, RedactionInterceptor],
  exports: [AccessGuard, RowPolicy, RedactionInterceptor],
})
export class AuthzModule {}
