import { InitialSchema1795453200000 } from './1795453200000-initial-schema';

/** Every migration, oldest first. A new migration is added here as well as to this folder. */
export const MIGRATIONS = [InitialSchema1795453200000];
