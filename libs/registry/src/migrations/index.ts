import { InitialSchema1795478400000 } from './1795478400000-initial-schema';

/** Every migration, oldest first. TypeormRegistry runs the pending ones at open. */
export const REGISTRY_MIGRATIONS = [InitialSchema1795478400000];
