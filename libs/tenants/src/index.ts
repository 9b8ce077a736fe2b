import { Membership } from './membership.entity';
import { Store } from './store.entity';
import { Tenant } from './tenant.entity';
import { User } from './user.entity';

export { type DealerRole, Membership } from './membership.entity';
export { type NewStore, StoreRepository } from './store.repository';
export { Store } from './store.entity';
export { TenantDirectory, type TenantDirectoryEntry } from './tenant-directory';
export { Tenant, type TenantStatus } from './tenant.entity';
export { GRACE_DAYS, lifecycleStateOf, type TenantLifecycleDates } from './tenant-lifecycle';
export { TenantsModule } from './tenants.module';
export { Guarded } from './guarded';
export { ListQueryDto, TenantParams } from './tenant.dto';
export { type PlatformRole, User } from './user.entity';

/** The entities this library maps, for the runtime data source. */
export const TENANT_ENTITIES = [Tenant, Store, User, Membership];
