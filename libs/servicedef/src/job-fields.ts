import { Check, isTable, type JobConcurrency, type JobSpec, NAME_PATTERN, ok, parseDuration, problem, type RuleProblem, type Table, type ValidationIssue } from '@mcp/common';
import type { mcpv1 } from '@mcp/proto';
import { imageReferenceProblem } from './image-reference';

/*
 * A service's `[[jobs]]` tables (SPEC §12), in one place: their keys and rules, the checks that
 * relate them to the components, their normal form, TOML lines and proto conversion.
 */

const CRON_MACROS = new Set(['@hourly', '@daily', '@weekly', '@monthly', '@yearly', '@annually', '@midnight']);
const NAME_REASON = 'must be 1-63 characters of a-z, 0-9 and "-", starting with a letter';

/**
 * What the cron library (`cron`, the one @nestjs/schedule is built on) says of a schedule:
 * 5 fields, 6 with a leading seconds field, or a macro. Loaded only when a definition has a
 * job, so that `mcp` commands without jobs do not pay for it at start.
 */
export function jobScheduleProblem(text: string): string | undefined {
  const expected = 'must be a cron schedule of 5 fields ("0 3 * * *"), 6 with a leading seconds field, or one of @hourly, @daily, @weekly, @monthly, @yearly';
  if (CRON_MACROS.has(text)) return undefined;
  const fields = text.trim().split(/\s+/);
  if (fields.length !== 5 && fields.length !== 6) return expected;
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { validateCronExpression } = require('cron') as typeof import('cron');
  const verdict = validateCronExpression(text);
  return verdict.valid ? undefined : `"${text}" is not a valid cron schedule (${verdict.error?.message ?? 'rejected by the cron library'}); ${expected.replace('must be ', 'use ')}`;
}

/** An IANA time zone name as Node's Intl (and so luxon, under the cron library) knows it. */
export function timeZoneProblem(text: string): string | undefined {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: text });
    return undefined;
  } catch {
    return `"${text}" is not a known time zone (use an IANA name such as "UTC" or "Europe/Berlin")`;
  }
}

function nonEmptyString(value: unknown, then: (text: string) => string | undefined = () => undefined): RuleProblem[] {
  if (value === undefined) return ok;
  if (typeof value !== 'string') return problem('must be a string');
  if (value === '') return problem('must not be empty');
  const reason = then(value);
  return reason ? problem(reason) : ok;
}

const jobRules = {
  name: (value: unknown) => (value === undefined ? problem('is required') : nonEmptyString(value, (text) => (NAME_PATTERN.test(text) ? undefined : NAME_REASON))),
  component: (value: unknown) => nonEmptyString(value, (text) => (NAME_PATTERN.test(text) ? undefined : "must name one of the service's components")),
  image: (value: unknown) => nonEmptyString(value, imageReferenceProblem),
  cmd: (value: unknown) => {
    if (value === undefined) return ok;
    if (!Array.isArray(value) || value.length === 0) return problem('must be a non-empty array of strings (argv, no shell), e.g. ["bin/report", "--yesterday"]');
    return value.flatMap((item: unknown, index) => (typeof item === 'string' && item !== '' && !item.includes('\0') ? [] : [{ suffix: `[${index}]`, reason: 'must be a non-empty string' }]));
  },
  schedule: (value: unknown) => (value === undefined ? problem('is required: a cron schedule such as "0 3 * * *" or @daily') : nonEmptyString(value, jobScheduleProblem)),
  tz: (value: unknown) => nonEmptyString(value, timeZoneProblem),
  timeout: (value: unknown) =>
    nonEmptyString(value, (text) => {
      const ms = parseDuration(text);
      if (ms === undefined) return `"${text}" is not a duration (use a number with a unit: 30s, 10m, 1h)`;
      return ms === 0 ? 'must be longer than 0' : undefined;
    }),
  concurrency: (value: unknown) => (value === undefined || value === 'forbid' || value === 'allow' ? ok : problem('must be "forbid" or "allow"')),
  catchUp: (value: unknown) => (value === undefined || typeof value === 'boolean' ? ok : problem('must be true or false')),
};

/** One `[[jobs]]` table (SPEC §12), in the order its keys are written back. */
export class JobTable {
  @Check('job-name', jobRules.name) name!: string;
  @Check('job-component', jobRules.component) component?: string;
  @Check('job-image', jobRules.image) image?: string;
  @Check('job-cmd', jobRules.cmd) cmd?: string[];
  @Check('job-schedule', jobRules.schedule) schedule!: string;
  @Check('job-tz', jobRules.tz) tz?: string;
  @Check('job-timeout', jobRules.timeout) timeout?: string;
  @Check('job-concurrency', jobRules.concurrency) concurrency?: string;
  @Check('job-catch-up', jobRules.catchUp) catch_up?: boolean;
}

/** Unique names; `component` names one of this service's, or `image` is given instead. */
export function jobIssues(input: Table): ValidationIssue[] {
  if (!Array.isArray(input.jobs)) return [];
  const names = new Set((Array.isArray(input.components) ? input.components : []).filter(isTable).map((component) => component.name));
  const seen = new Map<string, number>();
  const issues: ValidationIssue[] = [];
  input.jobs.forEach((job: unknown, j) => {
    if (!isTable(job)) return;
    const at = `jobs[${j}]`;
    if (typeof job.name === 'string') {
      const first = seen.get(job.name);
      if (first !== undefined) issues.push({ path: `${at}.name`, reason: `duplicate job name "${job.name}" (also jobs[${first}])` });
      else seen.set(job.name, j);
    }
    if (job.component === undefined && job.image === undefined) issues.push({ path: `${at}.component`, reason: 'is required: the component whose spec the job runs with (or give image and cmd)' });
    if (typeof job.component === 'string' && job.component !== '' && NAME_PATTERN.test(job.component) && !names.has(job.component)) {
      issues.push({ path: `${at}.component`, reason: `no component "${job.component}" in this service` });
    }
  });
  return issues;
}

/** The typed jobs of a valid definition; undefined without `[[jobs]]` (absent keys stay absent). */
export function normaliseJobs(jobs: unknown): JobSpec[] | undefined {
  if (!Array.isArray(jobs) || jobs.length === 0) return undefined;
  return jobs.filter(isTable).map((job) => {
    const spec: JobSpec = { name: job.name as string, schedule: job.schedule as string };
    if (typeof job.component === 'string') spec.component = job.component;
    if (typeof job.image === 'string') spec.image = job.image;
    if (Array.isArray(job.cmd)) spec.cmd = job.cmd.map(String);
    if (typeof job.tz === 'string') spec.tz = job.tz;
    if (typeof job.timeout === 'string') spec.timeout = job.timeout;
    if (typeof job.concurrency === 'string') spec.concurrency = job.concurrency as JobConcurrency;
    if (typeof job.catch_up === 'boolean') spec.catch_up = job.catch_up;
    return spec;
  });
}

/** `[[jobs]]` as TOML lines (empty without jobs), keys in the order above. */
export function jobLines(jobs: readonly JobSpec[] | undefined, string: (text: string) => string, strings: (items: readonly string[]) => string): string[] {
  const lines: string[] = [];
  for (const job of jobs ?? []) {
    if (lines.length) lines.push('');
    lines.push('[[jobs]]', `name = ${string(job.name)}`);
    if (job.component !== undefined) lines.push(`component = ${string(job.component)}`);
    if (job.image !== undefined) lines.push(`image = ${string(job.image)}`);
    if (job.cmd !== undefined) lines.push(`cmd = ${strings(job.cmd)}`);
    lines.push(`schedule = ${string(job.schedule)}`);
    if (job.tz !== undefined) lines.push(`tz = ${string(job.tz)}`);
    if (job.timeout !== undefined) lines.push(`timeout = ${string(job.timeout)}`);
    if (job.concurrency !== undefined) lines.push(`concurrency = ${string(job.concurrency)}`);
    if (job.catch_up !== undefined) lines.push(`catch_up = ${job.catch_up}`);
  }
  return lines;
}

function jobSummary(job: JobSpec): string {
  return `${job.schedule}${job.tz ? ` ${job.tz}` : ''}, ${job.component ? `component ${job.component}` : `image ${job.image}`}${job.cmd ? ` ${JSON.stringify(job.cmd)}` : ''}`;
}

/** What a deploy changes in the jobs (SPEC §12: the plan includes them): one line per added, removed or changed job. */
export function jobChanges(before: readonly JobSpec[] | undefined, after: readonly JobSpec[] | undefined): string[] {
  const old = new Map((before ?? []).map((job) => [job.name, job]));
  const lines: string[] = [];
  for (const job of after ?? []) {
    const previous = old.get(job.name);
    old.delete(job.name);
    if (!previous) {
      lines.push(`job ${job.name}: added (${jobSummary(job)})`);
      continue;
    }
    const keys = ['component', 'image', 'cmd', 'schedule', 'tz', 'timeout', 'concurrency', 'catch_up'] as const;
    const changed = keys.filter((key) => JSON.stringify(previous[key]) !== JSON.stringify(job[key]));
    if (changed.length) lines.push(`job ${job.name}: ${changed.map((key) => `${key} ${JSON.stringify(previous[key]) ?? '(none)'} → ${JSON.stringify(job[key]) ?? '(none)'}`).join(', ')}`);
  }
  for (const name of old.keys()) lines.push(`job ${name}: removed (unscheduled)`);
  return lines;
}

export function toProtoJob(job: JobSpec): mcpv1.JobSpec {
  const message: mcpv1.JobSpec = {
    name: job.name,
    component: job.component ?? '',
    image: job.image ?? '',
    cmd: [...(job.cmd ?? [])],
    schedule: job.schedule,
    tz: job.tz ?? '',
    timeout: job.timeout ?? '',
    concurrency: job.concurrency ?? '',
  };
  if (job.catch_up !== undefined) message.catchUp = job.catch_up;
  return message;
}

/** Converts only; validation follows (as for the rest of the spec). */
export function fromProtoJob(message: mcpv1.JobSpec): JobSpec {
  const job: JobSpec = { name: message.name, schedule: message.schedule };
  if (message.component) job.component = message.component;
  if (message.image) job.image = message.image;
  if (message.cmd?.length) job.cmd = [...message.cmd];
  if (message.tz) job.tz = message.tz;
  if (message.timeout) job.timeout = message.timeout;
  if (message.concurrency) job.concurrency = message.concurrency as JobConcurrency;
  if (message.catchUp !== undefined) job.catch_up = message.catchUp;
  return job;
}
