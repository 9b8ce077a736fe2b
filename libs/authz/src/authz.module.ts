import { Global, Module } from '@nestjs/common';
import { AccessGuard } from './access.guard';

@Global()
@Module({ providers: [AccessGuard], exports: [AccessGuard] })
export class AuthzModule {}
