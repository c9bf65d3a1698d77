import { InitialSchema1795478400000 } from './1795478400000-initial-schema';
import { Releases1796169600000 } from './1796169600000-releases';
import { ReleasePulled1796774400000 } from './1796774400000-release-pulled';

/** Every migration, oldest first. TypeormRegistry runs the pending ones at open. */
export const REGISTRY_MIGRATIONS = [InitialSchema1795478400000, Releases1796169600000, ReleasePulled1796774400000];
