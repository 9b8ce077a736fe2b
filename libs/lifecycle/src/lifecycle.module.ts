import { Module } from '@nestjs/common';
import { AuthModule } from '@forecourt/auth';

/**
 * The tenant's data as its owner's: export at any time; cancellation, grace and restore; the
 * deletion that ends it, proven by a signed certificate.
 */
@Module({
  imports: [AuthModule],
  controllers: [],
  providers: [],
  exports: [],
})
export class LifecycleModule {}
