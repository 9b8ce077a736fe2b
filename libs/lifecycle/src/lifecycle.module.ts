import { Module } from '@nestjs/common';
import { AuthModule } from '@forecourt/auth';
import { MailModule } from '@forecourt/mail';
import { PlatformLifecycleController, TenantLifecycleController } from './lifecycle.controller';
import { LifecycleSchedule } from './lifecycle-schedule';
import { TenantCancellation } from './tenant-cancellation';
import { TenantDeletions } from './tenant-deletions';

/**
 * The tenant's data as its owner's: export at any time; cancellation, grace and restore; the
 * deletion that ends it, proven by a signed certificate.
 */
@Module({
  imports: [AuthModule, MailModule],
  controllers: [TenantLifecycleController, PlatformLifecycleController],
  providers: [TenantCancellation, TenantDeletions, LifecycleSchedule],
  exports: [TenantCancellation, TenantDeletions, LifecycleSchedule],
})
export class LifecycleModule {}
