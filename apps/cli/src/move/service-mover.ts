import { Injectable } from '@nestjs/common';
import type { ServiceSpec } from '@mcp/common';
import type { AgentClient } from '../client/agent-client';
import { Agents } from '../client/agents.service';
import { toProtoSpec } from '../client/spec-proto';
import { CliConfigService } from '../config/cli-config.service';
import { DefinitionStore } from '../definitions/definition-store';
import { AgentCallError, CommandFailedError, UsageError } from '../errors';
import { ImagePusher } from '../images/image-pusher';
import { ImageNotLocalError, WorkstationImages } from '../images/workstation-images';
import { Output } from '../output/output';
import { formatBytes } from '../output/progress';
import { formatMiB, formatWindow, outsideLinksProblem, planCopy, secretsUsed, serviceMemoryBytes, type CopyPlan } from './move-plan';
import { copyServicePass, type CopyPassResult } from './service-copy';

export interface MoveOptions {
  dryRun?: boolean;
  copySecrets?: boolean;
}

export interface MoveReport {
  service: string;
  from: string;
  to: string;
  dryRun: boolean;
  /** planned (dry run), moved, failed. */
  result: 'planned' | 'moved' | 'failed';
  error?: string;
  /** Files and bytes of /srv/<svc> on the source; what each pass sent. */
  files: number;
  bytes: number;
  live?: { files: number; bytes: number; ms: number; changed: number };
  /** `hashed`: files the final pass compared by SHA-256 (its quick check compares size and mtime first). */
  final?: { files: number; bytes: number; ms: number; hashed: number };
  secretsCopied: string[];
  images: Array<{ image: string; action: 'pushed' | 'present' | 'node pulls' | 'would push'; bytes: number }>;
  /** From the source's stop to the target's healthy deploy (the service answered nowhere). */
  windowMs?: number;
  /** What a failure undid (or could not). */
  undone?: string[];
  /** Written to the definition file. */
  definition?: string;
  /** An earlier move had deployed it on the target and stopped it on the source, then ended (killed): only its last steps were left. */
  resumed?: boolean;
}

/** Thrown after a failed move was undone as far as possible; `report` says what happened. */
export class MoveFailedError extends CommandFailedError {
  constructor(
    message: string,
    readonly report: MoveReport,
  ) {
    super(message);
  }
}

/**
 * `mcp move` (SPEC §15), orchestrated here: the two agents never talk to each other, this
 * process holds the operator's token for both. Order: preflight (nothing changes if any check
 * fails), secrets, images, the live copy, stop on the source, the final copy, deploy on the
 * target through its health gate (which registers its routes), undeploy on the source, the
 * definition's `node`. Anything failing before the target is healthy is undone: the target's
 * containers, ports and routes (undeploy + purge), its copy of the data, the secrets this move
 * set there; the source is started again if the final pass had stopped it.
 */
@Injectable()
export class ServiceMover {
  constructor(
    private readonly agents: Agents,
    private readonly config: CliConfigService,
    private readonly definitions: DefinitionStore,
    private readonly output: Output,
    private readonly images: WorkstationImages,
    private readonly pusher: ImagePusher,
  ) {}

  async move(service: string, to: string, options: MoveOptions = {}): Promise<MoveReport> {
    const { file, spec } = await this.definitions.load(service);
    const from = spec.node;
    const target = this.config.node(to).name;
    this.config.node(from);
    if (target === from) throw new UsageError(`${service} already runs on ${from} (its definition says node = "${from}")`);
    const source = await this.agents.forNode(from);
    const dest = await this.agents.forNode(target);
    try {
      return await this.moveWith({ service, file, spec, source, dest, options });
    } finally {
      this.output.clearProgress();
      source.close();
      dest.close();
    }
  }

  private async moveWith(input: { service: string; file: string; spec: ServiceSpec; source: AgentClient; dest: AgentClient; options: MoveOptions }): Promise<MoveReport> {
    const { service, spec, source, dest, options } = input;
    const from = source.node.name;
    const to = dest.node.name;
    const report: MoveReport = { service, from, to, dryRun: options.dryRun === true, result: 'planned', files: 0, bytes: 0, secretsCopied: [], images: [] };
    this.output.progress(`${service}: checking ${to} and ${from}...`);
    const pre = await this.preflight({ service, spec, source, dest, options });
    report.files = pre.plan.totalFiles;
    report.bytes = pre.plan.totalBytes;
    report.images = pre.images.map((i) => ({ image: i.image, action: i.local ? (options.dryRun ? 'would push' : 'pushed') : 'node pulls', bytes: 0 }));
    if (pre.resume) {
      report.resumed = true;
      if (options.dryRun) return report;
      return this.finish({ service, file: input.file, source, report });
    }
    if (options.dryRun) {
      report.secretsCopied = pre.secretsToCopy;
      return report;
    }

    const made = { secrets: [] as string[], data: false, deployed: false, stopped: false };
    let stoppedAt = 0;
    try {
      for (const name of pre.secretsToCopy) {
        this.output.progress(`${service}: copying secret ${name} to ${to}...`);
        await this.copySecret({ service, name, source, dest });
        made.secrets.push(name);
      }
      report.secretsCopied = made.secrets;
      report.images = await this.pushImages({ images: pre.images, dest, service });
      made.data = true;
      const live = await this.pass({ service, source, dest, final: false });
      report.live = { files: live.files, bytes: live.bytes, ms: live.ms, changed: live.changed.length };
      this.output.progress(`${service}: stopping it on ${from} for the final copy...`);
      stoppedAt = Date.now();
      made.stopped = true;
      await source.call('stopService', { service });
      const final = await this.pass({ service, source, dest, final: true });
      report.final = { files: final.files, bytes: final.bytes, ms: final.ms, hashed: final.hashed };
      this.output.progress(`${service}: deploying on ${to} (waiting for health)...`);
      made.deployed = true;
      const proto = await toProtoSpec({ ...spec, node: to });
      const deployed = await dest.call('deploy', { service: proto, component: '', force: false, overrideCordon: false });
      const failed = deployed.results.filter((r) => !r.ok);
      if (failed.length) {
        throw new CommandFailedError(`deploy on ${to} failed: ${failed.map((r) => `${r.component}: ${r.error}`).join('; ')}`);
      }
      report.windowMs = Date.now() - stoppedAt;
    } catch (error) {
      report.result = 'failed';
      report.error = (error as Error).message;
      report.undone = await this.undo({ service, source, dest, made });
      throw new MoveFailedError(`moving ${service} to ${to} failed: ${report.error}; ${report.undone.join('; ')}`, report);
    }

    // The target is healthy: from here on nothing is undone.
    return this.finish({ service, file: input.file, source, report });
  }

  /** The last steps, once the target serves: undeploy on the source, the definition's node. */
  private async finish(input: { service: string; file: string; source: AgentClient; report: MoveReport }): Promise<MoveReport> {
    const { service, source, report } = input;
    const from = source.node.name;
    this.output.progress(`${service}: undeploying it on ${from}...`);
    const leftovers: string[] = [];
    try {
      await source.call('undeployService', { service }).catch(notFoundAsUndefined);
      await source.call('purgeComponent', { service, component: '', defined: [], dryRun: false }).catch(notFoundAsUndefined);
    } catch (error) {
      leftovers.push(`undeploying it on ${from} failed (${(error as Error).message}): it may run on both nodes; run mcp undeploy ${service} --node ${from}`);
    }
    await this.definitions.setNode(input.file, report.to);
    report.definition = input.file;
    report.result = 'moved';
    if (leftovers.length) {
      report.error = leftovers.join('; ');
      throw new MoveFailedError(report.error, report);
    }
    return report;
  }

  private async preflight(input: { service: string; spec: ServiceSpec; source: AgentClient; dest: AgentClient; options: MoveOptions }) {
    const { service, spec, source, dest } = input;
    const from = source.node.name;
    const to = dest.node.name;
    const problems: string[] = [];
    const [destNode, sourceStatus, destStatus] = await Promise.all([
      dest.call('nodeStatus', {}),
      source.call('getServiceStatus', { service, eventLimit: 0 }).catch(notFoundAsUndefined),
      dest.call('getServiceStatus', { service, eventLimit: 0 }).catch(notFoundAsUndefined),
    ]);
    // An earlier move that ended after its deploy on the target (the CLI killed): the target
    // runs every component, the source none. Only undeploy on the source and the definition are left.
    const destComponents = destStatus?.components ?? [];
    // Stopped by the move's final pass = desired "stopped" (the live state may lag the stop).
    const sourceRunning = (sourceStatus?.components ?? []).filter((c) => c.desiredState === 'running' && c.observedState === 'running');
    const resume = destComponents.length > 0 && destComponents.length === spec.components.length && destComponents.every((c) => c.observedState === 'running') && sourceRunning.length === 0;
    if (resume) return { resume, plan: planCopy([], []), secretsToCopy: [] as string[], images: [] as Array<{ image: string; local: boolean }>, srvRoot: '' };
    if (!sourceStatus || sourceStatus.components.every((c) => c.observedState === 'removed')) {
      problems.push(`${service} is not deployed on ${from} (mcp deploy ${service} there, or edit node in its definition)`);
    }
    const present = destComponents.filter((c) => c.observedState !== 'removed');
    if (present.length) problems.push(`${to} already has ${service} (${present.map((c) => `${c.component}: ${c.observedState}`).join(', ')}): undeploy it there first`);
    if (destNode.cordoned) problems.push(`${to} is cordoned${destNode.cordonedBy ? ` (by ${destNode.cordonedBy})` : ''}: pick another node or mcp node uncordon ${to}`);
    const need = serviceMemoryBytes(spec);
    if (need > 0 && need > destNode.memoryFreeBytes) {
      problems.push(`${to} has ${formatMiB(destNode.memoryFreeBytes)} free, ${service}'s memory limits add up to ${formatMiB(need)}`);
    }

    const used = secretsUsed(spec);
    const secretsToCopy: string[] = [];
    if (used.length) {
      const [onSource, onDest] = await Promise.all([source.call('listSecrets', { service }), dest.call('listSecrets', { service })]);
      const there = new Set(onDest.secrets.map((s) => s.name));
      const here = new Set(onSource.secrets.map((s) => s.name));
      const missing = used.filter((name) => !there.has(name));
      if (missing.length && !input.options.copySecrets) {
        problems.push(`secret(s) ${missing.join(', ')} of ${service} are not set on ${to}: set them there (mcp secret set ${service} NAME --node ${to} < FILE) or pass --copy-secrets`);
      } else if (missing.length) {
        const absent = missing.filter((name) => !here.has(name));
        if (absent.length) problems.push(`secret(s) ${absent.join(', ')} of ${service} are set on neither ${from} nor ${to}`);
        secretsToCopy.push(...missing.filter((name) => here.has(name)));
      }
    }

    const images: Array<{ image: string; local: boolean }> = [];
    for (const component of spec.components) {
      if (images.some((i) => i.image === component.image)) continue;
      const local = await this.images.save(component.image).then(
        async (saved) => {
          await saved.dispose();
          return true;
        },
        (error: unknown) => {
          if (error instanceof ImageNotLocalError) return false;
          throw error;
        },
      );
      if (!local && (component.pull === 'never' || component.image.startsWith('localhost/'))) {
        problems.push(`${component.image} (component ${component.name}) is not in this workstation's podman and ${to} cannot pull it: podman pull or build it here, then move again`);
      }
      images.push({ image: component.image, local });
    }

    const [sourceFiles, destFiles] = await Promise.all([
      // Totals and links only: the passes compare content.
      source.call('listServiceFiles', { service, checksums: false, checksumPaths: [] }),
      dest.call('listServiceFiles', { service, checksums: false, checksumPaths: [] }),
    ]);
    const plan: CopyPlan = planCopy(sourceFiles.entries, destFiles.entries);
    const links = outsideLinksProblem(service, sourceFiles.srvRoot, plan.outside);
    if (links) problems.push(`${from}: ${links}`);
    if (problems.length) {
      throw new CommandFailedError(`cannot move ${service} from ${from} to ${to} (nothing was changed): ${problems.join('; ')}`);
    }
    return { resume: false, plan, secretsToCopy, images, srvRoot: sourceFiles.srvRoot };
  }

  /** The value goes from one agent's answer into the other's request; the buffer is zeroed after. */
  private async copySecret(input: { service: string; name: string; source: AgentClient; dest: AgentClient }): Promise<void> {
    const read = await input.source.call('readSecretForMove', { service: input.service, name: input.name, toNode: input.dest.node.name });
    const value = Buffer.from(read.value);
    try {
      await input.dest.call('setSecret', { service: input.service, name: input.name, value });
    } finally {
      value.fill(0);
      read.value.fill(0);
    }
  }

  private async pushImages(input: { images: Array<{ image: string; local: boolean }>; dest: AgentClient; service: string }): Promise<MoveReport['images']> {
    const result: MoveReport['images'] = [];
    for (const image of input.images) {
      if (!image.local) {
        result.push({ image: image.image, action: 'node pulls', bytes: 0 });
        continue;
      }
      this.output.progress(`${input.service}: pushing ${image.image} to ${input.dest.node.name}...`);
      const saved = await this.images.save(image.image);
      try {
        const pushed = await this.pusher.push(input.dest, saved);
        result.push({ image: image.image, action: pushed.blobsSent ? 'pushed' : 'present', bytes: pushed.bytesSent });
      } finally {
        await saved.dispose();
      }
    }
    return result;
  }

  private async pass(input: { service: string; source: AgentClient; dest: AgentClient; final: boolean }): Promise<CopyPassResult> {
    const label = input.final ? 'final copy' : 'live copy';
    this.output.progress(`${input.service}: ${label} of its data to ${input.dest.node.name}...`);
    return copyServicePass({
      from: input.source,
      to: input.dest,
      service: input.service,
      final: input.final,
      onProgress: (done, plan) => this.output.progress(`${input.service}: ${label}: ${done.files}/${plan.files.length} files, ${formatBytes(done.bytes)} of ${formatBytes(plan.bytes)}`),
    });
  }

  /** Undoes a failed move, step by step; says what was done and what could not be. */
  private async undo(input: { service: string; source: AgentClient; dest: AgentClient; made: { secrets: string[]; data: boolean; deployed: boolean; stopped: boolean } }): Promise<string[]> {
    const { service, source, dest, made } = input;
    const from = source.node.name;
    const to = dest.node.name;
    const said: string[] = [];
    const step = async (done: string, action: () => Promise<unknown>): Promise<void> => {
      try {
        await action();
        said.push(done);
      } catch (error) {
        said.push(`could not ${done.replace(/^removed /, 'remove ').replace(/^started /, 'start ')}: ${(error as Error).message}`);
      }
    };
    this.output.progress(`${service}: undoing the move...`);
    if (made.deployed) {
      await step(`removed its containers, ports and routes on ${to}`, async () => {
        await dest.call('undeployService', { service }).catch(notFoundAsUndefined);
        await dest.call('purgeComponent', { service, component: '', defined: [], dryRun: false }).catch(notFoundAsUndefined);
      });
    }
    if (made.data) await step(`removed the copied data on ${to}`, () => dest.call('removeServiceData', { service }));
    for (const name of made.secrets) await step(`removed secret ${name} on ${to}`, () => dest.call('removeSecret', { service, name }));
    if (made.stopped) await step(`started it again on ${from}`, () => source.call('startService', { service }));
    else said.push(`it kept running on ${from}`);
    return said;
  }

  /** The lines `mcp move` prints after a move. */
  describe(report: MoveReport, spec?: ServiceSpec): string[] {
    const lines: string[] = [];
    if (report.dryRun && report.resumed) {
      return [`${report.service} already runs on ${report.to} and is stopped on ${report.from} (an earlier move ended after its deploy): mcp move would undeploy it on ${report.from} and rewrite node; dry run: nothing was changed`];
    }
    if (report.dryRun) {
      lines.push(`would move ${report.service} from ${report.from} to ${report.to}: ${report.files} file(s), ${formatBytes(report.bytes)} in its directory`);
      for (const image of report.images) lines.push(`  image ${image.image}: ${image.action === 'would push' ? `pushed from this workstation to ${report.to}` : `${report.to} pulls it at deploy`}`);
      if (report.secretsCopied.length) lines.push(`  secrets copied to ${report.to}: ${report.secretsCopied.join(', ')}`);
      lines.push(`dry run: nothing was changed on ${report.from} or ${report.to}`);
      return lines;
    }
    if (report.resumed) lines.push(`${report.service} already ran on ${report.to} and was stopped on ${report.from} (an earlier move ended after its deploy): finished it, nothing copied again`);
    lines.push(`moved ${report.service} from ${report.from} to ${report.to}`);
    if (report.live) lines.push(`  live copy: ${report.live.files} file(s), ${formatBytes(report.live.bytes)} in ${formatWindow(report.live.ms)}${report.live.changed ? ` (${report.live.changed} changed while read)` : ''}`);
    if (report.final) lines.push(`  final copy: ${report.final.files} file(s), ${formatBytes(report.final.bytes)} in ${formatWindow(report.final.ms)} (${report.final.hashed} compared by SHA-256, the rest by size and mtime)`);
    for (const image of report.images) if (image.action === 'pushed') lines.push(`  pushed ${image.image} to ${report.to}: ${formatBytes(image.bytes)}`);
    if (report.secretsCopied.length) lines.push(`  copied secret(s) ${report.secretsCopied.join(', ')} to ${report.to}`);
    if (report.windowMs !== undefined) lines.push(`unavailable for ${formatWindow(report.windowMs)} (from its stop on ${report.from} to healthy on ${report.to})`);
    if (report.definition) lines.push(`${report.definition}: node = "${report.to}"`);
    const hostnames = [...new Set((spec?.components ?? []).flatMap((c) => c.routes.map((r) => r.hostname).filter((h): h is string => !!h)))];
    lines.push(
      hostnames.length
        ? `outside MCP: point DNS for ${hostnames.join(', ')} at ${report.to} (its routes are registered with ${report.to}'s mc-proxy)`
        : `outside MCP: clients that reach ${report.service} at ${report.from}'s address must now use ${report.to}'s (DNS)`,
    );
    lines.push(`its data stays on ${report.from} until you remove it there`);
    return lines;
  }
}

function notFoundAsUndefined(error: unknown): undefined {
  if (error instanceof AgentCallError && error.code === 'NOT_FOUND') return undefined;
  throw error;
}
