import { type BackupMode, type BackupPolicy, Check, isTable, ok, problem, type RuleProblem, type Table, type ValidationIssue } from '@mcp/common';
import type { mcpv1 } from '@mcp/proto';
import { jobScheduleProblem } from './job-fields';

/*
 * A service's `[backup]` table (SPEC §14), in one place: its keys and rules, the checks that
 * relate it to the components, its normal form, TOML lines and proto conversion.
 */

const MODES: readonly BackupMode[] = ['live', 'pause', 'stop'];
const MAX_KEEP = 1000;
/**
 * A cron schedule as the jobs' one (UTC): 5 fields, 6 with a leading seconds field (tests
 * back up every few seconds), or a macro — as the cron library the agent schedules with
 * reads it.
 */
export function scheduleProblem(text: string): string | undefined {
  return jobScheduleProblem(text);
}

function keep(value: unknown): RuleProblem[] {
  if (value === undefined) return ok;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > MAX_KEEP) return problem(`must be an integer 1-${MAX_KEEP}`);
  return ok;
}

function schedule(value: unknown): RuleProblem[] {
  if (value === undefined) return ok;
  if (typeof value !== 'string') return problem('must be a string');
  const reason = scheduleProblem(value);
  return reason ? problem(reason) : ok;
}

function mode(value: unknown): RuleProblem[] {
  return value === undefined || MODES.includes(value as BackupMode) ? ok : problem('must be "live", "pause" or "stop"');
}

function before(value: unknown): RuleProblem[] {
  if (value === undefined) return ok;
  if (!Array.isArray(value) || value.length === 0) return problem('must be a non-empty array of strings (argv), e.g. ["pg_dump", "-f", "/srv/shop/dump.sql"]');
  return value.flatMap((item: unknown, index) => (typeof item === 'string' && item !== '' ? [] : [{ suffix: `[${index}]`, reason: 'must be a non-empty string' }]));
}

function component(value: unknown): RuleProblem[] {
  return value === undefined || (typeof value === 'string' && value !== '') ? ok : problem("must name one of the service's components");
}

/** A service definition's `[backup]` table (SPEC §14). */
export class BackupTable {
  @Check('backup-schedule', schedule) schedule?: string;
  @Check('backup-mode', mode) mode?: string;
  @Check('backup-before', before) before?: string[];
  @Check('backup-component', component) component?: string;
  @Check('backup-keep', keep) keep_last?: number;
  @Check('backup-keep', keep) keep_daily?: number;
  @Check('backup-keep', keep) keep_weekly?: number;
}

/** `before` runs in `component`, which must be one of this service's. */
export function backupIssues(input: Table): ValidationIssue[] {
  const backup = input.backup;
  if (!isTable(backup)) return [];
  const issues: ValidationIssue[] = [];
  const names = new Set((Array.isArray(input.components) ? input.components : []).filter(isTable).map((component) => component.name));
  if (backup.before !== undefined && backup.component === undefined) issues.push({ path: 'backup.component', reason: 'is required with backup.before (the component whose container runs it)' });
  if (typeof backup.component === 'string' && backup.component !== '' && !names.has(backup.component)) {
    issues.push({ path: 'backup.component', reason: `no component "${backup.component}" in this service` });
  }
  return issues;
}

/** The typed policy of a valid `[backup]` table; absent keys stay absent. */
export function normaliseBackup(backup: unknown): BackupPolicy | undefined {
  if (!isTable(backup)) return undefined;
  const policy: BackupPolicy = {};
  if (typeof backup.schedule === 'string') policy.schedule = backup.schedule;
  if (typeof backup.mode === 'string') policy.mode = backup.mode as BackupMode;
  if (Array.isArray(backup.before)) policy.before = backup.before.map(String);
  if (typeof backup.component === 'string') policy.component = backup.component;
  if (typeof backup.keep_last === 'number') policy.keep_last = backup.keep_last;
  if (typeof backup.keep_daily === 'number') policy.keep_daily = backup.keep_daily;
  if (typeof backup.keep_weekly === 'number') policy.keep_weekly = backup.keep_weekly;
  return policy;
}

/** `[backup]` as TOML lines (empty when there is no policy), keys in the order above. */
export function backupLines(policy: BackupPolicy | undefined, string: (text: string) => string, strings: (items: readonly string[]) => string): string[] {
  if (!policy) return [];
  const lines = ['[backup]'];
  if (policy.schedule !== undefined) lines.push(`schedule = ${string(policy.schedule)}`);
  if (policy.mode !== undefined) lines.push(`mode = ${string(policy.mode)}`);
  if (policy.before !== undefined) lines.push(`before = ${strings(policy.before)}`);
  if (policy.component !== undefined) lines.push(`component = ${string(policy.component)}`);
  if (policy.keep_last !== undefined) lines.push(`keep_last = ${policy.keep_last}`);
  if (policy.keep_daily !== undefined) lines.push(`keep_daily = ${policy.keep_daily}`);
  if (policy.keep_weekly !== undefined) lines.push(`keep_weekly = ${policy.keep_weekly}`);
  return lines;
}

export function toProtoBackup(policy: BackupPolicy): mcpv1.BackupPolicy {
  const message: mcpv1.BackupPolicy = { schedule: policy.schedule ?? '', mode: policy.mode ?? '', before: [...(policy.before ?? [])], component: policy.component ?? '' };
  if (policy.keep_last !== undefined) message.keepLast = policy.keep_last;
  if (policy.keep_daily !== undefined) message.keepDaily = policy.keep_daily;
  if (policy.keep_weekly !== undefined) message.keepWeekly = policy.keep_weekly;
  return message;
}

/** Converts only; validation follows (as for the rest of the spec). */
export function fromProtoBackup(message: mcpv1.BackupPolicy): BackupPolicy {
  const policy: BackupPolicy = {};
  if (message.schedule) policy.schedule = message.schedule;
  if (message.mode) policy.mode = message.mode as BackupMode;
  if (message.before?.length) policy.before = [...message.before];
  if (message.component) policy.component = message.component;
  if (message.keepLast !== undefined) policy.keep_last = message.keepLast;
  if (message.keepDaily !== undefined) policy.keep_daily = message.keepDaily;
  if (message.keepWeekly !== undefined) policy.keep_weekly = message.keepWeekly;
  return policy;
}
