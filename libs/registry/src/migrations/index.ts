import { InitialSchema1795478400000 } from './1795478400000-initial-schema';
import { Releases1796169600000 } from './1796169600000-releases';
import { ReleasePulled1796774400000 } from './1796774400000-release-pulled';
import { ServiceBackups1797379200000 } from './1797379200000-service-backups';
import { NodeSettings1797465600000 } from './1797465600000-node-settings';
import { JobRuns1797552000000 } from './1797552000000-job-runs';

/** Every migration, oldest first. TypeormRegistry runs the pending ones at open. */
export const REGISTRY_MIGRATIONS = [InitialSchema1795478400000, Releases1796169600000, ReleasePulled1796774400000, ServiceBackups1797379200000, NodeSettings1797465600000, JobRuns1797552000000];
