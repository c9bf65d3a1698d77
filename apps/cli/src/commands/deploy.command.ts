import { Command, CommandRunner, Help, Option } from 'nest-commander';
import { InvalidServiceDefinitionError } from '@mcp/common';
import { Agents } from '../client/agents.service';
import { CliConfigService } from '../config/cli-config.service';
import { DefinitionStore } from '../definitions/definition-store';
import { CommandFailedError } from '../errors';
import { ImagePusher } from '../images/image-pusher';
import { ImageNotLocalError, WorkstationImages } from '../images/workstation-images';
import { Output } from '../output/output';
import { healthProgressLine } from '../output/health-progress';
import { formatBytes } from '../output/progress';
import { parseTarget, renderResults } from './command-helpers';
import { toProtoSpec } from '../client/spec-proto';

/** How often `mcp deploy` on a terminal asks the node how the health gate is doing. */
const HEALTH_POLL_MS = 1000;

/** One image of `deploy --push`: whether this workstation had it, and the blobs and bytes sent (or, dry, to send). */
interface PushedImage {
  image: string;
  local: boolean;
  blobs: number;
  bytes: number;
}

@Command({
  name: 'deploy',
  arguments: '<target>',
  argsDescription: { target: 'SERVICE or SERVICE/COMPONENT (from <services dir>/SERVICE.toml)' },
  description: 'deploy a service (or one component) from its definition file to its node',
})
export class DeployCommand extends CommandRunner {
  @Help('after')
  help(): string {
    return [
      '',
      'How a deploy goes (SPEC §8): each changed component is pulled, started, and must pass its',
      'health check ([components.health] in the file, else: running and its route ports accept',
      'TCP) within start_period. start-first (the default for routed components when the node has',
      'mc-proxy) runs the new container beside the old one and switches the routes only once it is',
      'healthy, so clients see no failed request; stop-first stops the old one first. If the new',
      'one fails, start-first leaves the old one serving; stop-first brings the previous release',
      'back. Either way the result says why, shows the failed container\'s last log lines, and the',
      'command exits 1. An unchanged component is left alone (use --force to recreate it).',
      '',
      'Examples:',
      '  mcp deploy shop --dry-run     # what would change, field by field; changes nothing',
      '  mcp deploy shop/web           # one component',
      '  mcp deploy shop --push        # images built here go to the node first (no registry)',
      '  mcp deploy shop --push --dry-run   # which images would be pushed, and how many bytes',
      '',
      'With --json: {service, node, results: [{component, ok, error, container, release, logTail, changed}], pushed?: [{image, local, blobs, bytes}]}',
      'With --dry-run --json: {service, node, dryRun: true, components: [{component, action, strategy, changes, hook?}], jobs?: [change lines], push?: [{image, local, blobs, bytes}]}',
    ].join('\n');
  }

  constructor(
    private readonly definitions: DefinitionStore,
    private readonly config: CliConfigService,
    private readonly agents: Agents,
    private readonly output: Output,
    private readonly images: WorkstationImages,
    private readonly pusher: ImagePusher,
  ) {
    super();
  }

  async run([targetText]: string[], options: { force?: boolean; json?: boolean; dryRun?: boolean; push?: boolean } = {}): Promise<void> {
    const target = parseTarget(targetText, { allowComponent: true });
    const { file, spec } = await this.definitions.load(target.service);
    if (target.component && !spec.components.some((c) => c.name === target.component)) {
      throw new CommandFailedError(`${file}: components: no component "${target.component}"`);
    }
    if (!this.config.get().nodes.some((n) => n.name === spec.node)) {
      this.config.requireNodes();
      throw new InvalidServiceDefinitionError([{ file, path: 'node', reason: `"${spec.node}" is not a node in ${this.config.get().file}` }]);
    }
    const proto = await toProtoSpec(spec);
    const images = [...new Set(spec.components.filter((c) => !target.component || c.name === target.component).map((c) => c.image))];
    const pushed = options.push ? await this.pushImages({ node: spec.node, images, dryRun: options.dryRun === true, json: options.json === true }) : undefined;
    if (options.dryRun) {
      await this.plan({ node: spec.node, proto, component: target.component, force: options.force === true, json: options.json === true, pushed });
      return;
    }
    this.output.progress(`deploying ${targetText} to ${spec.node}...`);
    const stopWatching = options.json ? () => undefined : this.watchHealth({ node: spec.node, service: spec.name, component: target.component });
    let response;
    try {
      response = await this.agents.withNode(spec.node, (client) =>
        client.call('deploy', { service: proto, component: target.component ?? '', force: options.force === true, overrideCordon: options.force === true }),
      );
    } finally {
      stopWatching();
      this.output.clearProgress();
    }
    if (options.json) {
      this.output.json({ service: response.service, node: spec.node, results: response.results, ...(pushed ? { pushed } : {}) });
      if (response.results.some((r) => !r.ok)) throw new CommandFailedError('some components failed');
      return;
    }
    renderResults(this.output, 'deployed', spec.node, response.results);
  }

  /**
   * On a terminal (and not --json), while the deploy runs: asks the node for the service's
   * status every HEALTH_POLL_MS and shows the components that wait on their health gate (#20),
   * e.g. `web: waiting for health (tcp 127.0.0.1:21252) 12s/60s`. The deploy itself stays one
   * unary call with the deploy deadline; a status call that fails is skipped (the deploy's own
   * answer reports), and one is never started while the previous one is still out.
   */
  private watchHealth(input: { node: string; service: string; component?: string }): () => void {
    if (!this.output.progressOn) return () => undefined;
    let busy = false;
    let stopped = false;
    const timer = setInterval(() => {
      if (busy) return;
      busy = true;
      this.agents
        .withNode(input.node, (client) => client.call('getServiceStatus', { service: input.service, eventLimit: 1 }))
        .then((status) => {
          const line = healthProgressLine(status.components, input.component);
          if (line && !stopped) this.output.progress(line);
        })
        .catch(() => undefined)
        .finally(() => (busy = false));
    }, HEALTH_POLL_MS);
    timer.unref();
    return () => {
      stopped = true;
      clearInterval(timer);
    };
  }

  /**
   * `--push` (SPEC §13): each image of the deployed components that this workstation's podman
   * has goes to the node first, only the blobs it lacks; with `--dry-run` only what would be
   * sent is worked out (ImageBlobs) and nothing is pushed. Images the workstation does not
   * have are the node's to pull, as without --push.
   */
  private async pushImages(input: { node: string; images: string[]; dryRun: boolean; json: boolean }): Promise<PushedImage[]> {
    const pushed: PushedImage[] = [];
    for (const reference of input.images) {
      let image;
      try {
        image = await this.images.save(reference);
      } catch (error) {
        if (!(error instanceof ImageNotLocalError)) throw error;
        pushed.push({ image: reference, local: false, blobs: 0, bytes: 0 });
        continue;
      }
      try {
        if (input.dryRun) {
          const plan = await this.agents.withNode(input.node, (client) => this.pusher.plan(client, image));
          pushed.push({ image: reference, local: true, blobs: plan.missing.length, bytes: plan.missing.reduce((sum, blob) => sum + blob.size, 0) });
        } else {
          const result = await this.agents.withNode(input.node, (client) => this.pusher.push(client, image));
          pushed.push({ image: reference, local: true, blobs: result.blobsSent, bytes: result.bytesSent });
        }
      } finally {
        await image.dispose();
      }
    }
    if (!input.json) {
      for (const p of pushed) {
        if (!p.local) this.output.info(`${p.image}: not in this workstation's podman, ${input.node} pulls it`);
        else if (input.dryRun) this.output.info(p.blobs ? `would push ${p.image} to ${input.node}: ${p.blobs} blob(s), ${formatBytes(p.bytes)}` : `${input.node} has ${p.image}: nothing to push`);
        else this.output.info(`pushed ${p.image} to ${input.node}: ${p.blobs} blob(s), ${formatBytes(p.bytes)}`);
      }
    }
    return pushed;
  }

  /** SPEC §8 deploy plan: what the agent would do, against what runs; nothing changes. */
  private async plan(input: { node: string; proto: Awaited<ReturnType<typeof toProtoSpec>>; component?: string; force: boolean; json: boolean; pushed?: PushedImage[] }): Promise<void> {
    const response = await this.agents.withNode(input.node, (client) => client.call('planDeploy', { service: input.proto, component: input.component ?? '', force: input.force }));
    if (input.json) {
      const jobs = response.jobs?.changes ?? [];
      this.output.json({
        service: response.service,
        node: input.node,
        dryRun: true,
        components: response.components.map(({ hook, ...c }) => (hook ? { ...c, hook } : c)),
        ...(jobs.length ? { jobs } : {}),
        ...(input.pushed ? { push: input.pushed } : {}),
      });
      return;
    }
    const style = { create: 'green', recreate: 'yellow', start: 'yellow', unchanged: 'dim' } as const;
    this.output.table(
      ['COMPONENT', 'ACTION', 'STRATEGY', 'CHANGES'],
      response.components.flatMap((c) => {
        const [first, ...rest] = c.changes.length ? c.changes : ['-'];
        return [
          [c.component, { text: c.action, style: style[c.action as keyof typeof style] }, c.strategy, first],
          ...rest.map((change) => ['', '', '', change]),
        ];
      }),
    );
    for (const c of response.components) {
      if (c.hook) this.output.line(`${c.component}: runs the pre_deploy hook ${c.hook} first, in a one-off container of the new spec`);
    }
    for (const change of response.jobs?.changes ?? []) this.output.line(change);
    this.output.info(`dry run: nothing was changed on ${input.node} (no pull, no port, no container)`);
  }

  @Option({ flags: '--dry-run', description: 'show what the deploy would do per component (create, recreate with each changed field, start, unchanged) and the strategy; change nothing' })
  parseDryRun(): boolean {
    return true;
  }

  @Option({ flags: '--push', description: "first push each component's image from this workstation's podman to the node, only the layers it lacks (no registry needed; with --dry-run: say what would be sent)" })
  parsePush(): boolean {
    return true;
  }

  @Option({ flags: '--force', description: 'recreate containers even when the spec is unchanged, and deploy to a cordoned node' })
  parseForce(): boolean {
    return true;
  }

  @Option({ flags: '--json', description: 'machine-readable output (shape below)' })
  parseJson(): boolean {
    return true;
  }
}
