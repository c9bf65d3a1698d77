/** One directory a restore replaces: restic extracts its `source` into `stagingRoot` (so the data lands at `staged`), then it is swapped in. */
export interface SwapPair {
  /** The directory's path in the snapshot: `live`'s, or another node's (its srv_root or podman storage). Absent in records from before #23's restore onto another node: `live`. */
  source?: string;
  live: string;
  stagingRoot: string;
  staged: string;
  previous: string;
}

/** What a restore records before each step; recovery reads it after a crash. */
export interface RestoreIntent {
  step: 'stopping' | 'staged' | 'swapped';
  snapshot: string;
  pairs: SwapPair[];
  /** Containers that ran before the restore stopped them: started again, whatever happens. */
  containers: string[];
}

const STEPS: readonly unknown[] = ['stopping', 'staged', 'swapped'] satisfies Array<RestoreIntent['step']>;

const isStep = (value: unknown): value is RestoreIntent['step'] => STEPS.includes(value);
const isString = (value: unknown): value is string => typeof value === 'string';
const isStringList = (value: unknown): value is string[] => Array.isArray(value) && value.every(isString);

function isSwapPair(value: unknown): value is SwapPair {
  if (typeof value !== 'object' || value === null) return false;
  const { source, live, stagingRoot, staged, previous } = value as Partial<Record<keyof SwapPair, unknown>>;
  return (source === undefined || isString(source)) && isString(live) && isString(stagingRoot) && isString(staged) && isString(previous);
}

const isSwapPairs = (value: unknown): value is SwapPair[] => Array.isArray(value) && value.every(isSwapPair);

/**
 * The restore intent a registry row's `detail` holds (written by this agent or by the release
 * before it, read back after a crash), checked member by member; throws naming the members it
 * cannot read, so recovery refuses such a record instead of acting on half of it.
 */
export function readRestoreIntent(detail: Record<string, unknown>): RestoreIntent {
  const { step, snapshot, pairs, containers } = detail;
  if (isStep(step) && isString(snapshot) && isSwapPairs(pairs) && isStringList(containers)) return { step, snapshot, pairs, containers };
  const bad = [isStep(step) || 'step', isString(snapshot) || 'snapshot', isSwapPairs(pairs) || 'pairs', isStringList(containers) || 'containers'].filter(isString);
  throw new Error(`unreadable restore record (${bad.join(', ')})`);
}
