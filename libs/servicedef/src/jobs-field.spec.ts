import { HEAD, issuesOf } from './testing/definition-issues';
import { jobChanges } from './job-fields';
import { fromProtoServiceSpec, toProtoServiceSpec } from './proto-spec';
import { parseServiceDefinition, serializeServiceDefinition } from './service-definition';

/** SPEC §12's `[[jobs]]` (name, component | image, cmd, schedule, tz, timeout, concurrency, catch_up). */
const JOB = `\n[[jobs]]\nname = "report"\ncomponent = "web"\nschedule = "0 3 * * *"\n`;

describe('[[jobs]] (SPEC §12)', () => {
  it('should parse, export and carry every field unchanged', () => {
    const text = `${HEAD}
[[jobs]]
name = "nightly-report"
component = "web"
cmd = ["bin/report", "--yesterday"]
schedule = "0 3 * * *"
tz = "Europe/Berlin"
timeout = "1h"
concurrency = "allow"
catch_up = true

[[jobs]]
name = "tick"
image = "docker.io/library/alpine:3.20"
cmd = ["true"]
schedule = "*/5 * * * * *"
`;
    const spec = parseServiceDefinition(text, 'web.toml');

    expect(spec.jobs).toEqual([
      { name: 'nightly-report', component: 'web', cmd: ['bin/report', '--yesterday'], schedule: '0 3 * * *', tz: 'Europe/Berlin', timeout: '1h', concurrency: 'allow', catch_up: true },
      { name: 'tick', image: 'docker.io/library/alpine:3.20', cmd: ['true'], schedule: '*/5 * * * * *' },
    ]);
    expect(parseServiceDefinition(serializeServiceDefinition(spec), 'again.toml')).toEqual(spec);
    expect(fromProtoServiceSpec(toProtoServiceSpec(spec), 'rift')).toEqual(spec);
  });

  it('should accept the macros and leave a service without jobs free of them', () => {
    expect(parseServiceDefinition(`${HEAD}${JOB.replace('0 3 * * *', '@daily')}`, 'web.toml').jobs?.[0].schedule).toBe('@daily');
    const spec = parseServiceDefinition(HEAD, 'web.toml');
    expect(spec).not.toHaveProperty('jobs');
    expect(toProtoServiceSpec(spec)).not.toHaveProperty('jobs');
  });

  it('should name added, changed and removed jobs for the plan', () => {
    const before = [
      { name: 'report', component: 'web', schedule: '0 3 * * *' },
      { name: 'old', image: 'localhost/x:1', schedule: '@daily' },
    ];
    const after = [
      { name: 'report', component: 'web', schedule: '0 4 * * *', tz: 'Europe/Berlin' },
      { name: 'new', component: 'web', cmd: ['bin/new'], schedule: '@hourly' },
    ];
    expect(jobChanges(before, after)).toEqual([
      'job report: schedule "0 3 * * *" → "0 4 * * *", tz (none) → "Europe/Berlin"',
      'job new: added (@hourly, component web ["bin/new"])',
      'job old: removed (unscheduled)',
    ]);
    expect(jobChanges(after, after)).toEqual([]);
    expect(jobChanges(undefined, undefined)).toEqual([]);
  });

  it.each([
    ['a bad cron expression', JOB.replace('0 3 * * *', '61 3 * * *'), 'jobs[0].schedule', /^"61 3 \* \* \*" is not a valid cron schedule \(Field value \(61\) is out of range\)/],
    ['a cron of 4 fields', JOB.replace('0 3 * * *', '0 3 * *'), 'jobs[0].schedule', /^must be a cron schedule of 5 fields/],
    ['a bad time zone', `${JOB}tz = "Mars/Olympus"\n`, 'jobs[0].tz', /^"Mars\/Olympus" is not a known time zone/],
    ['no schedule', JOB.replace('schedule = "0 3 * * *"\n', ''), 'jobs[0].schedule', /^is required/],
    ['no name', JOB.replace('name = "report"\n', ''), 'jobs[0].name', /^is required$/],
    ['neither component nor image', JOB.replace('component = "web"\n', ''), 'jobs[0].component', /^is required: the component/],
    ['an unknown component', JOB.replace('component = "web"', 'component = "db"'), 'jobs[0].component', /^no component "db" in this service$/],
    ['a bad timeout', `${JOB}timeout = "ten"\n`, 'jobs[0].timeout', /^"ten" is not a duration/],
    ['a bad concurrency', `${JOB}concurrency = "replace"\n`, 'jobs[0].concurrency', /^must be "forbid" or "allow"$/],
    ['a catch_up that is not a boolean', `${JOB}catch_up = "yes"\n`, 'jobs[0].catch_up', /^must be true or false$/],
    ['a shell string cmd', `${JOB}cmd = "bin/report --yesterday"\n`, 'jobs[0].cmd', /^must be a non-empty array of strings/],
    ['an unknown key', `${JOB}retries = 3\n`, 'jobs[0].retries', /^unknown key$/],
    ['a duplicate name', `${JOB}${JOB}`, 'jobs[1].name', /^duplicate job name "report" \(also jobs\[0\]\)$/],
  ])('should refuse %s with file and path', (_what, text, path, reason) => {
    const issues = issuesOf(`${HEAD}${text}`);
    expect(issues).toHaveLength(1);
    expect(issues[0]).toEqual({ file: 'web.toml', path, reason: expect.stringMatching(reason) });
  });
});
