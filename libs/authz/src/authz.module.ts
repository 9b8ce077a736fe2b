import { Global, Module } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import { AccessGuard } from './access.guard';
import { PolicyCoverage } from './policy-coverage';

@Global()
@Module({ imports: [DiscoveryModule], providers: [AccessGuard, PolicyCoverage], exports: [AccessGuard] })
export class AuthzModule {}
