import { formatIssue, InvalidServiceDefinitionError } from '@mcp/common';
import { fromProtoServiceSpec, toProtoServiceSpec } from './proto-spec';
import { parseServiceDefinition, serializeServiceDefinition } from './service-definition';

const FILE = 'services/shop.toml';
const BASE = `name = "shop"
node = "n1"

[[components]]
name = "db"
image = "postgres:16"
`;

function issues(text: string): string[] {
  try {
    parseServiceDefinition(text, FILE);
  } catch (error) {
    if (error instanceof InvalidServiceDefinitionError) return error.issues.map(formatIssue);
    throw error;
  }
  throw new Error('expected the definition to be refused');
}

describe('[backup] (SPEC §14)', () => {
  const full = `${BASE}
[backup]
schedule = "@daily"
mode = "pause"
before = ["pg_dump", "-f", "/srv/shop/dump.sql"]
component = "db"
keep_daily = 7
keep_weekly = 4
keep_last = 2
`;

  it('reads every key, round-trips through TOML and the proto, and is absent when not written', () => {
    const spec = parseServiceDefinition(full, FILE);
    expect(spec.backup).toEqual({ schedule: '@daily', mode: 'pause', before: ['pg_dump', '-f', '/srv/shop/dump.sql'], component: 'db', keep_daily: 7, keep_weekly: 4, keep_last: 2 });
    expect(parseServiceDefinition(serializeServiceDefinition(spec), FILE)).toEqual(spec);
    expect(fromProtoServiceSpec(toProtoServiceSpec(spec), 'n1')).toEqual(spec);
    const plain = parseServiceDefinition(BASE, FILE);
    expect(plain.backup).toBeUndefined();
    expect(toProtoServiceSpec(plain).backup).toBeUndefined();
    expect(parseServiceDefinition(`${BASE}\n[backup]\nschedule = "0 3 * * 1-5"\n`, FILE).backup).toEqual({ schedule: '0 3 * * 1-5' });
    expect(parseServiceDefinition(`${BASE}\n[backup]\nschedule = "*/5 * * * * *"\n`, FILE).backup).toEqual({ schedule: '*/5 * * * * *' });
    expect(issues(`${BASE}\n[backup]\nschedule = "0 99 * * *"\n`)).toEqual([expect.stringMatching(/^.*backup\.schedule: "0 99 \* \* \*" is not a valid cron schedule/)]);
  });

  it('reports every bad key at once with file and path', () => {
    expect(
      issues(`${BASE}
[backup]
schedule = "every day"
mode = "snapshot"
before = ["pg_dump", ""]
component = "web"
keep_last = 0
keep_daily = 2.5
keep_weekly = "4"
retention = 3
`),
    ).toEqual([
      `${FILE}: backup.schedule: must be a cron schedule of 5 fields ("0 3 * * *"), 6 with a leading seconds field, or one of @hourly, @daily, @weekly, @monthly, @yearly`,
      `${FILE}: backup.mode: must be "live", "pause" or "stop"`,
      `${FILE}: backup.before[1]: must be a non-empty string`,
      `${FILE}: backup.keep_last: must be an integer 1-1000`,
      `${FILE}: backup.keep_daily: must be an integer 1-1000`,
      `${FILE}: backup.keep_weekly: must be an integer 1-1000`,
      `${FILE}: backup.retention: unknown key`,
      `${FILE}: backup.component: no component "web" in this service`,
    ]);
  });

  it('needs the component that runs `before`, and a table', () => {
    expect(issues(`${BASE}\n[backup]\nbefore = ["sync"]\n`)).toEqual([`${FILE}: backup.component: is required with backup.before (the component whose container runs it)`]);
    expect(issues(`backup = "daily"\n${BASE}`)).toEqual([`${FILE}: backup: must be a table`]);
  });
});
