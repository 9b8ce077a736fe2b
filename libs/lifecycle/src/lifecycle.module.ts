import { Module } from '@nestjs/common';
import { AuthModule } from '@forecourt/auth';
import { MailModule } from '@forecourt/mail';
import { ExportArchive } from './export-archive';
import { ExportQueue } from './export-queue';
import { ExportTableReader } from './export-table-reader';
import { ExportWorker } from './export-worker';
import { ExportsController } from './exports.controller';
import { Exports } from './exports.service';
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
  controllers: [ExportsController, TenantLifecycleController, PlatformLifecycleController],
  providers: [
    Exports,
    ExportQueue,
    ExportArchive,
    ExportTableReader,
    ExportWorker,
    TenantCancellation,
    TenantDeletions,
    LifecycleSchedule,
  ],
  exports: [TenantCancellation, TenantDeletions, LifecycleSchedule],
})
export class LifecycleModule {}
