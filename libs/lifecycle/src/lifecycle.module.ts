import { Module } from '@nestjs/common';
import { AuthModule } from '@forecourt/auth';
import { ExportArchive } from './export-archive';
import { ExportQueue } from './export-queue';
import { ExportTableReader } from './export-table-reader';
import { ExportWorker } from './export-worker';
import { ExportsController } from './exports.controller';
import { Exports } from './exports.service';

/**
 * The tenant's data as its owner's: export at any time; cancellation, grace and restore; the
 * deletion that ends it, proven by a signed certificate.
 */
@Module({
  imports: [AuthModule],
  controllers: [ExportsController],
  providers: [Exports, ExportQueue, ExportArchive, ExportTableReader, ExportWorker],
  exports: [],
})
export class LifecycleModule {}
