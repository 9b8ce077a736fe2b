import { Module } from '@nestjs/common';
import { AuthModule } from '@forecourt/auth';
import { MailModule } from '@forecourt/mail';
import { AuditKeysController, PlatformAuditController, TenantAuditController } from './audit.controller';
import { CheckpointWitness } from './checkpoint-witness';
import { AccessController } from './access.controller';
import { AccessExplanations } from './access-explanations';
import { Invitations } from './invitations.service';
import { SupportGrantController, SupportGrantRequestController } from './support-grants.controller';
import { SupportGrants } from './support-grants.service';
import { Members } from './members.service';
import { PlatformTenants } from './platform-tenants.service';
import { StoreRepository } from './store.repository';
import { Stores } from './stores.service';
import { TenantDirectory } from './tenant-directory';
import { InvitationAcceptController, PlatformController, TenantController } from './tenants.controller';

@Module({
  imports: [AuthModule, MailModule],
  controllers: [
    PlatformController,
    TenantController,
    InvitationAcceptController,
    TenantAuditController,
    PlatformAuditController,
    AuditKeysController,
    SupportGrantRequestController,
    SupportGrantController,
    AccessController,
  ],
  providers: [
    AccessExplanations,
    CheckpointWitness,
    Invitations,
    Members,
    PlatformTenants,
    StoreRepository,
    Stores,
    SupportGrants,
    TenantDirectory,
  ],
  exports: [StoreRepository, TenantDirectory],
})
export class TenantsModule {}
