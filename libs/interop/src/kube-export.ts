import { stringify } from 'yaml';
import { type ComponentSpec, type JobSpec, parseDuration } from '@mcp/common';
import { fieldDef, fieldKeys, type KubeOut } from '@mcp/servicedef';

export { kubeMemory } from '@mcp/servicedef';
import { ExportInput, exportedVolumes, headerComment, parsePortMapping, parseVolume, publishedRoutes } from './export-common';

/**
 * The service as Kubernetes YAML (SPEC §9 Export) that `podman kube play` runs as it is and a
 * cluster accepts: per component a Deployment (one replica) and, when it has ports, a
 * Service of the same name, so other components reach it by name in a cluster; a
 * PersistentVolumeClaim per named volume (podman kube play makes it a podman volume of that
 * name, so the data MCP's containers wrote is the data the pod sees); bind mounts as
 * hostPath volumes; limits as `resources.limits` (unlike `podman kube generate`, which drops
 * them); secrets as Secret references; each `[[jobs]]` table as a CronJob (see cronJob). What
 * the format cannot carry is listed at the top.
 */
export function exportKube(input: ExportInput): string {
  const { spec } = input;
  const notCarried: string[] = [];
  const documents: unknown[] = [];
  const claims = new Set<string>();
  const secretNames = new Set<string>();
  const jobBases = new Map<string, JobBase>();

  for (const component of spec.components) {
    const name = objectName(spec.name, component.name);
    const labels = { 'app.kubernetes.io/name': name, 'app.kubernetes.io/part-of': spec.name, 'app.kubernetes.io/managed-by': 'mcp-export' };
    const container: Record<string, unknown> = {};
    const podSpec: Record<string, unknown> = { restartPolicy: 'Always', containers: [container] };
    // Each field's `kube` in COMPONENT_FIELDS, in the order the container's keys are written;
    // env, ports, volumes and secrets are written here, between them.
    const out: KubeOut = { component, container, pod: podSpec, notCarried: (text) => notCarried.push(text) };
    const done = new Set<keyof ComponentSpec>();
    const write = (keys: readonly (keyof ComponentSpec)[]): void => {
      for (const key of keys) {
        const value = component[key];
        if (value !== undefined && !done.has(key)) fieldDef(key).kube?.(value, out);
        done.add(key);
      }
    };
    write(['name', 'image', 'cmd']);

    const routes = publishedRoutes(input, component);
    const plainEnv: Record<string, unknown>[] = component.env.map((entry) => {
      const equals = entry.indexOf('=');
      return { name: entry.slice(0, equals), value: entry.slice(equals + 1) };
    });
    const secretEnv = Object.entries(component.env_secrets ?? {}).map(([variable, secret]) => {
      secretNames.add(secret);
      return { name: variable, valueFrom: { secretKeyRef: { name: secretObjectName(spec.name, secret), key: 'value' } } };
    });
    const env = [...plainEnv, ...routes.map((route) => ({ name: route.env, value: String(route.port) })), ...secretEnv];
    if (env.length) container.env = env;

    const ports: Record<string, unknown>[] = component.ports.map((text) => {
      const port = parsePortMapping(text);
      return compact({ containerPort: port.containerPort, hostPort: port.hostPort, hostIP: port.hostIp, protocol: port.protocol.toUpperCase() });
    });
    for (const route of routes) {
      ports.push({ containerPort: route.port, hostPort: route.port, hostIP: route.hostIp, protocol: 'TCP' });
      notCarried.push(`${route.description} (mc-proxy routing and TLS): published as hostPort ${route.port}; in a cluster, route to Service ${name} with an Ingress`);
    }
    if (ports.length) container.ports = ports;

    write(['memory', 'cpus']);

    const podVolumes: Record<string, unknown>[] = [];
    const mounts: Record<string, unknown>[] = [];
    exportedVolumes(input, component).forEach((text, index) => {
      const volume = parseVolume(text);
      const volumeName = volume.named ? dnsLabel(volume.source) : `host-${index}`;
      mounts.push(compact({ name: volumeName, mountPath: volume.target, readOnly: volume.options.includes('ro') || undefined }));
      if (volume.named) {
        // Kubernetes names allow no "_"; podman kube play names the volume after the claim.
        podVolumes.push({ name: volumeName, persistentVolumeClaim: { claimName: volumeName } });
        if (!claims.has(volumeName) && volumeName !== volume.source) {
          notCarried.push(`volume name ${volume.source}: the claim is ${volumeName} (Kubernetes names allow no "_"); copy the data (podman volume export ${volume.source} | podman volume import ${volumeName} -)`);
        }
        claims.add(volumeName);
      } else {
        podVolumes.push({ name: volumeName, hostPath: { path: volume.source } });
      }
      const extra = volume.options.filter((option) => option !== 'ro' && option !== 'rw');
      if (extra.length) notCarried.push(`${component.name}: volume options ${extra.join(',')} of ${volume.source}`);
    });
    for (const secret of component.secrets ?? []) {
      const volumeName = `secret-${dnsLabel(secret)}`;
      podVolumes.push({ name: volumeName, secret: { secretName: secretObjectName(spec.name, secret), items: [{ key: 'value', path: secret }] } });
      mounts.push({ name: volumeName, mountPath: `/run/secrets/${secret}`, subPath: secret, readOnly: true });
      secretNames.add(secret);
    }
    if (mounts.length) container.volumeMounts = mounts;

    write(fieldKeys(['user', 'restart', 'network', 'depends_on', 'health', 'strategy', 'drain', 'hooks', 'stop_timeout', 'stop_signal']));
    // A job runs with the component's spec but no routes or host ports, as MCP's one-off containers do (SPEC §12).
    jobBases.set(component.name, {
      container: compact({ env: plainEnv.length + secretEnv.length ? [...plainEnv, ...secretEnv] : undefined, resources: container.resources, volumeMounts: container.volumeMounts, securityContext: container.securityContext }),
      volumes: podVolumes,
      cmd: component.cmd,
      image: component.image,
    });
    if (podVolumes.length) podSpec.volumes = podVolumes;
    documents.push({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name, labels },
      spec: {
        replicas: spec.active ? 1 : 0,
        selector: { matchLabels: { 'app.kubernetes.io/name': name } },
        template: { metadata: { labels }, spec: podSpec },
      },
    });
    if (ports.length) {
      documents.push({
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name, labels },
        spec: {
          selector: { 'app.kubernetes.io/name': name },
          ports: ports.map((port, index) => ({
            name: `p${index}-${String(port.containerPort)}`,
            port: port.containerPort,
            targetPort: port.containerPort,
            protocol: port.protocol ?? 'TCP',
          })),
        },
      });
    }
  }
  for (const job of spec.jobs ?? []) documents.push(cronJob(spec, job, job.component ? jobBases.get(job.component) : undefined, notCarried));
  if (spec.jobs?.length) notCarried.push(`jobs (${spec.jobs.map((job) => job.name).join(', ')}): written as CronJobs, which a cluster schedules; podman kube play skips them (it has no scheduler)`);
  for (const claim of claims) {
    documents.unshift({
      apiVersion: 'v1',
      kind: 'PersistentVolumeClaim',
      metadata: { name: claim, labels: { 'app.kubernetes.io/part-of': spec.name } },
      spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } },
    });
  }
  if (claims.size) notCarried.push(`volume sizes: each PersistentVolumeClaim asks for 1Gi; set what your data needs`);
  if (secretNames.size) {
    notCarried.push(
      `secret values: create them first, e.g. ${[...secretNames].map((secret) => `kubectl create secret generic ${secretObjectName(spec.name, secret)} --from-file=value=FILE`).join('; ')}`,
    );
  }
  if (!spec.active) notCarried.push(`active = false: exported with replicas: 0${spec.jobs?.length ? ' (and its CronJobs suspend: true)' : ''}`);
  return headerComment('Kubernetes manifests', spec.name, notCarried) + documents.map((document) => stringify(document, { lineWidth: 0, aliasDuplicateObjects: false })).join('---\n');
}

/** What a job takes from its component: the container's env, limits, mounts and user, the pod's volumes. */
interface JobBase {
  container: Record<string, unknown>;
  volumes: Record<string, unknown>[];
  cmd: string[];
  image: string;
}

/**
 * A `[[jobs]]` table (SPEC §12) as a CronJob: `schedule`, `tz` as `timeZone` (UTC when absent,
 * MCP's default; Kubernetes would take the controller's zone), `concurrency` as
 * `concurrencyPolicy`, `timeout` (default 1h) as the Job's `activeDeadlineSeconds` (the pod is
 * killed past it). `catch_up = false` (the default: a missed run is not made up) becomes
 * `startingDeadlineSeconds: 60` — a run the controller could not start within a minute of its
 * time is skipped; `catch_up = true` leaves it unset, and the controller starts the newest missed
 * run once it can. One attempt, never restarted (`backoffLimit: 0`, `restartPolicy: Never`), as
 * MCP runs a job once per time. An inactive service's jobs are exported `suspend: true`.
 */
function cronJob(spec: ExportInput['spec'], job: JobSpec, base: JobBase | undefined, notCarried: string[]): Record<string, unknown> {
  const name = dnsLabel(`${spec.name}-${job.name}`);
  const labels = { 'app.kubernetes.io/name': name, 'app.kubernetes.io/part-of': spec.name, 'app.kubernetes.io/managed-by': 'mcp-export' };
  const cmd = job.cmd ?? base?.cmd ?? [];
  const container: Record<string, unknown> = { name: dnsLabel(job.name), image: job.image ?? base?.image, ...(cmd.length ? { args: [...cmd] } : {}), ...base?.container };
  let schedule = job.schedule;
  const fields = schedule.trim().split(/\s+/);
  if (fields.length === 6) {
    // The seconds field is an MCP extension; a CronJob has 5 fields.
    schedule = fields.slice(1).join(' ');
    notCarried.push(`job ${job.name}: the seconds field of schedule "${job.schedule}" (a CronJob has 5 fields): exported as "${schedule}", at most once a minute`);
  }
  const timeout = parseDuration(job.timeout ?? '1h');
  const podSpec: Record<string, unknown> = { restartPolicy: 'Never', containers: [container] };
  if (base?.volumes.length) podSpec.volumes = base.volumes;
  return {
    apiVersion: 'batch/v1',
    kind: 'CronJob',
    metadata: { name, labels },
    spec: compact({
      schedule,
      timeZone: job.tz ?? 'Etc/UTC',
      concurrencyPolicy: job.concurrency === 'allow' ? 'Allow' : 'Forbid',
      startingDeadlineSeconds: job.catch_up ? undefined : 60,
      suspend: spec.active ? undefined : true,
      jobTemplate: {
        spec: compact({
          backoffLimit: 0,
          activeDeadlineSeconds: timeout === undefined ? undefined : Math.max(1, Math.ceil(timeout / 1000)),
          template: { metadata: { labels }, spec: podSpec },
        }),
      },
    }),
  };
}

function objectName(service: string, component: string): string {
  return service === component ? service : `${service}-${component}`;
}

function secretObjectName(service: string, secret: string): string {
  return dnsLabel(`${service}-${secret}`);
}

/** Kubernetes object and volume names: lower-case letters, digits and "-". */
function dnsLabel(text: string): string {
  return text.toLowerCase().replace(/[^a-z0-9-]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 63) || 'x';
}



function compact<T extends Record<string, unknown>>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, item]) => item !== undefined)) as T;
}

