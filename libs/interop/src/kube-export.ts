import { stringify } from 'yaml';
import { type JobSpec, parseDuration } from '@mcp/common';
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
    const container: Record<string, unknown> = { name: component.name, image: component.image };
    // MCP's cmd replaces the image's command (CMD), which is what `args` does in Kubernetes.
    if (component.cmd.length) container.args = [...component.cmd];

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

    const limits: Record<string, string> = {};
    if (component.memory) limits.memory = kubeMemory(component.memory);
    if (component.cpus !== undefined) limits.cpu = `${Math.round(component.cpus * 1000)}m`;
    if (Object.keys(limits).length) container.resources = { limits };

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

    const user = component.user ? /^(\d+)(?::(\d+))?$/.exec(component.user) : null;
    if (user) container.securityContext = compact({ runAsUser: Number(user[1]), runAsGroup: user[2] === undefined ? undefined : Number(user[2]) });
    else if (component.user) notCarried.push(`${component.name}: user "${component.user}" (Kubernetes needs numeric ids)`);
    // A job runs with the component's spec but no routes or host ports, as MCP's one-off containers do (SPEC §12).
    jobBases.set(component.name, {
      container: compact({ env: plainEnv.length + secretEnv.length ? [...plainEnv, ...secretEnv] : undefined, resources: container.resources, volumeMounts: container.volumeMounts, securityContext: container.securityContext }),
      volumes: podVolumes,
      cmd: component.cmd,
      image: component.image,
    });
    if (component.restart && component.restart !== 'always' && component.restart !== 'unless-stopped') {
      notCarried.push(`${component.name}: restart "${component.restart}" (a Deployment always restarts its containers)`);
    }
    if (component.network) notCarried.push(`${component.name}: network "${component.network}" (pods share the cluster network; reach components through their Services)`);
    if (component.depends_on?.length) {
      notCarried.push(`${component.name}: depends_on ${component.depends_on.join(', ')} (Kubernetes starts pods in any order; retry connections, or add an initContainer that waits)`);
    }

    if (component.health?.cmd?.length) {
      container.readinessProbe = compact({
        exec: { command: [...component.health.cmd] },
        periodSeconds: seconds(component.health.interval),
        timeoutSeconds: seconds(component.health.timeout),
        successThreshold: component.health.healthy,
      });
    } else if (component.health) {
      notCarried.push(`${component.name}: health (${component.health.http !== undefined ? `http ${component.health.http}` : 'tcp'} on the host port MCP probes); write a readinessProbe for the container's port`);
    }
    if (component.strategy || component.drain) notCarried.push(`${component.name}: strategy/drain (a Deployment's rollingUpdate does this in a cluster)`);
    // An initContainer runs before every pod start, on every replica, not once per release: not the same.
    if (component.hooks) notCarried.push(`${component.name}: pre_deploy hook ${JSON.stringify(component.hooks.pre_deploy)} (an initContainer would run it at every pod start, not once before a release; run it as a Job before rolling out)`);

    const podSpec: Record<string, unknown> = { restartPolicy: 'Always', containers: [container] };
    if (component.stop_timeout !== undefined) {
      const ms = parseDuration(component.stop_timeout);
      if (ms !== undefined) podSpec.terminationGracePeriodSeconds = Math.ceil(ms / 1000);
    }
    // A pod is always stopped with SIGTERM (the image's STOPSIGNAL at most, depending on the runtime).
    if (component.stop_signal && component.stop_signal !== 'SIGTERM') {
      notCarried.push(`${component.name}: stop_signal ${component.stop_signal} (a pod spec has no stop signal: set STOPSIGNAL in the image, or a preStop hook)`);
    }
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

/** podman's binary units (`512m` = 512 MiB) as a Kubernetes quantity (`512Mi`; `512m` there would be 0.512 bytes). */
export function kubeMemory(memory: string): string {
  const match = /^(\d+(?:\.\d+)?)([bkmg])?$/i.exec(memory);
  if (!match) return memory;
  const unit = (match[2] ?? 'b').toLowerCase();
  return unit === 'b' ? match[1] : `${match[1]}${unit.toUpperCase()}i`;
}

/** A duration like `5s` or `1500ms` in whole seconds (at least 1), for probe fields. */
function seconds(duration: string | undefined): number | undefined {
  if (duration === undefined) return undefined;
  const ms = parseDuration(duration);
  return ms === undefined ? undefined : Math.max(1, Math.round(ms / 1000));
}

function compact<T extends Record<string, unknown>>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, item]) => item !== undefined)) as T;
}

