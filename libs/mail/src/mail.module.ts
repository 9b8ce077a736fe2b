import { Module } from '@nestjs/common';
import { Mailer } from './mailer';

/** Outgoing mail; needs `APP_CONFIG` (from `ConfigModule`). */
@Module({
  providers: [Mailer],
  exports: [Mailer],
})
export class MailModule {}
