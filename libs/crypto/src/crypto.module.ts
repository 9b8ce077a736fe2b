import { Global, Module } from '@nestjs/common';
import { APP_CONFIG, type AppConfig } from '@forecourt/config';
import { KeyWrapper } from './envelope';
import { loadMasterKey } from './master-key';
import { TenantKeys } from './tenant-keys';

/** The master key (loaded once at start-up) and the key wrapper built on it. */
@Global()
@Module({
  providers: [
    {
      provide: KeyWrapper,
      inject: [APP_CONFIG],
      useFactory: (config: AppConfig) => new KeyWrapper(loadMasterKey(config)),
    },
    TenantKeys,
  ],
  exports: [KeyWrapper, TenantKeys],
})
export class CryptoModule {}
