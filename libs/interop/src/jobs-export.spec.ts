import { parseAllDocuments } from 'yaml';
import type { ServiceSpec } from '@mcp/common';
import { exportCompose, exportKube, importCompose } from './index';

/** Parsed YAML, walked by the test as the documents are shaped. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Loose = Record<string, any>;

/** SPEC §12: `[[jobs]]` in the export formats — a CronJob each in kube YAML, named as not carried in Compose. */
function shop(extra: Partial<ServiceSpec> = {}): ServiceSpec {
  return {
    name: 'shop',
    node: 'rift',
    active: true,
    components: [
      {
        name: 'web',
        image: 'localhost/shop:1.0',
        ports: ['8080:80'],
        volumes: ['shop-data:/data', '/etc/shop:/etc/shop:ro'],
        cmd: ['bin/serve'],
        env: ['MODE=prod'],
        env_secrets: { DB_PASSWORD: 'db' },
        secrets: ['api-key'],
        routes: [{ port: 443, mode: 'l4' }],
        memory: '256m',
        cpus: 0.5,
        user: '1000:1000',
      },
    ],
    jobs: [
      { name: 'report', component: 'web', cmd: ['bin/report', '--yesterday'], schedule: '0 3 * * *', tz: 'Europe/Berlin', timeout: '90s', concurrency: 'allow', catch_up: true },
      { name: 'tidy', component: 'web', schedule: '@daily' },
      { name: 'ping', image: 'docker.io/library/busybox:1.36', cmd: ['wget', '-q', 'http://shop'], schedule: '*/10 * * * * *', timeout: '10m' },
    ],
    ...extra,
  };
}

function kubeDocuments(spec: ServiceSpec): Loose[] {
  return parseAllDocuments(exportKube({ spec, routeHostPorts: { web: [20001] } })).map((document) => document.toJSON() as Loose);
}

function cronJob(documents: Loose[], name: string): Loose {
  const found = documents.find((document) => document.kind === 'CronJob' && document.metadata.name === name);
  if (!found) throw new Error(`no CronJob ${name} in ${documents.map((document) => `${document.kind}/${document.metadata.name}`).join(', ')}`);
  return found;
}

describe('export of [[jobs]] (SPEC §12)', () => {
  it('should write a CronJob per job with schedule, timeZone, concurrencyPolicy and activeDeadlineSeconds mapped', () => {
    const documents = kubeDocuments(shop());
    const report = cronJob(documents, 'shop-report');
    expect(report).toMatchObject({ apiVersion: 'batch/v1', metadata: { labels: { 'app.kubernetes.io/part-of': 'shop' } } });
    expect(report.spec).toEqual({
      schedule: '0 3 * * *',
      timeZone: 'Europe/Berlin',
      concurrencyPolicy: 'Allow',
      jobTemplate: { spec: { backoffLimit: 0, activeDeadlineSeconds: 90, template: expect.any(Object) } },
    });
    const tidy = cronJob(documents, 'shop-tidy');
    // Defaults: MCP's UTC (not the controller's zone), forbid, 1h, no catch-up (a run late by over a minute is skipped).
    expect(tidy.spec).toMatchObject({ schedule: '@daily', timeZone: 'Etc/UTC', concurrencyPolicy: 'Forbid', startingDeadlineSeconds: 60, jobTemplate: { spec: { activeDeadlineSeconds: 3600 } } });
    expect(tidy.spec.suspend).toBeUndefined();
  });

  it("should run a component's job with its spec (env, secrets, volumes, limits, user) but no routes or ports, once", () => {
    const pod = cronJob(kubeDocuments(shop()), 'shop-report').spec.jobTemplate.spec.template.spec;
    expect(pod.restartPolicy).toBe('Never');
    expect(pod.containers).toHaveLength(1);
    const [container] = pod.containers;
    expect(container).toMatchObject({ name: 'report', image: 'localhost/shop:1.0', args: ['bin/report', '--yesterday'], resources: { limits: { memory: '256Mi', cpu: '500m' } }, securityContext: { runAsUser: 1000, runAsGroup: 1000 } });
    expect(container.env).toEqual([
      { name: 'MODE', value: 'prod' },
      { name: 'DB_PASSWORD', valueFrom: { secretKeyRef: { name: 'shop-db', key: 'value' } } },
    ]);
    expect(container.ports).toBeUndefined();
    expect(container.volumeMounts.map((mount: Loose) => mount.mountPath)).toEqual(['/data', '/etc/shop', '/run/secrets/api-key']);
    expect(pod.volumes).toContainEqual({ name: 'shop-data', persistentVolumeClaim: { claimName: 'shop-data' } });
    // No cmd: the component's.
    expect(cronJob(kubeDocuments(shop()), 'shop-tidy').spec.jobTemplate.spec.template.spec.containers[0].args).toEqual(['bin/serve']);
  });

  it('should run an image-only job with nothing of a component, and name a seconds field it drops', () => {
    const documents = kubeDocuments(shop());
    const ping = cronJob(documents, 'shop-ping');
    expect(ping.spec.schedule).toBe('* * * * *');
    expect(ping.spec.jobTemplate.spec.activeDeadlineSeconds).toBe(600);
    expect(ping.spec.jobTemplate.spec.template.spec).toEqual({ restartPolicy: 'Never', containers: [{ name: 'ping', image: 'docker.io/library/busybox:1.36', args: ['wget', '-q', 'http://shop'] }] });
    const text = exportKube({ spec: shop() });
    expect(text).toContain('#   - job ping: the seconds field of schedule "*/10 * * * * *" (a CronJob has 5 fields): exported as "* * * * *", at most once a minute');
    expect(text).not.toMatch(/# {3}- job (report|tidy)/);
    expect(text).toContain('#   - jobs (report, tidy, ping): written as CronJobs, which a cluster schedules; podman kube play skips them (it has no scheduler)');
  });

  it("should suspend an inactive service's CronJobs, and write none without jobs", () => {
    const documents = kubeDocuments(shop({ active: false }));
    expect(cronJob(documents, 'shop-tidy').spec.suspend).toBe(true);
    expect(exportKube({ spec: shop({ active: false }) })).toContain('active = false: exported with replicas: 0 (and its CronJobs suspend: true)');
    expect(kubeDocuments(shop({ jobs: undefined })).filter((document) => document.kind === 'CronJob')).toEqual([]);
  });

  it('should list every job as not carried in a Compose file (no scheduler), and write no service for one', () => {
    const text = exportCompose({ spec: shop() });
    expect(text).toContain('#   - job report: schedule "0 3 * * *" Europe/Berlin, component web, cmd ["bin/report","--yesterday"] (Compose has no scheduler): run it with podman-compose run --rm web from cron or a systemd timer');
    expect(text).toContain('#   - job tidy: schedule "@daily" UTC, component web (Compose has no scheduler)');
    expect(text).toContain('#   - job ping: schedule "*/10 * * * * *" UTC, image docker.io/library/busybox:1.36, cmd ["wget","-q","http://shop"] (Compose has no scheduler): run it with podman run --rm docker.io/library/busybox:1.36');
    const document = parseAllDocuments(text)[0].toJSON() as Loose;
    expect(Object.keys(document.services)).toEqual(['web']);
    expect(exportCompose({ spec: shop({ jobs: undefined }) })).not.toContain('job ');
  });

  it('should import nothing as a job from Compose (scheduler labels are dropped with the other labels)', () => {
    const imported = importCompose({
      text: ['services:', '  web:', '    image: localhost/shop:1.0', '    labels:', '      ofelia.enabled: "true"', '      ofelia.job-exec.report.schedule: "@daily"', '      ofelia.job-exec.report.command: bin/report', ''].join('\n'),
      file: '/tmp/shop/compose.yaml',
      node: 'rift',
      name: 'shop',
      readFile: () => undefined,
    });
    expect(imported.spec.jobs).toBeUndefined();
    expect(imported.notes).toContainEqual(expect.objectContaining({ path: 'services.web.labels' }));
  });
});
