import { Command, CommandRunner, Option, SubCommand } from 'nest-commander';
import { Agents, fleetErrors, throwIfFleetFailed } from '../client/agents.service';
import { CliConfigService } from '../config/cli-config.service';
import { UsageError } from '../errors';
import { ImagePusher, type ImagePushResult } from '../images/image-pusher';
import { WorkstationImages } from '../images/workstation-images';
import { Output } from '../output/output';
import { formatBytes } from '../output/progress';

interface PushOptions {
  node?: string[];
  json?: boolean;
}

@SubCommand({
  name: 'push',
  arguments: '<ref>',
  argsDescription: { ref: "an image in this workstation's podman, e.g. localhost/app:1.4" },
  description: "copy an image from this workstation's podman to nodes' podman, without a registry: only the layers a node lacks are sent",
})
export class ImagePushCommand extends CommandRunner {
  constructor(
    private readonly agents: Agents,
    private readonly config: CliConfigService,
    private readonly images: WorkstationImages,
    private readonly pusher: ImagePusher,
    private readonly output: Output,
  ) {
    super();
  }

  async run([reference]: string[], options: PushOptions = {}): Promise<void> {
    if (!reference) throw new UsageError('missing image reference (e.g. mcp image push localhost/app:1.4)');
    const nodes = options.node?.length ? options.node.map((name) => this.config.node(name)) : this.config.requireNodes();
    const image = await this.images.save(reference);
    let outcomes;
    try {
      // One node after the other: each push reads the same saved copy, and a terminal shows one progress line.
      outcomes = [];
      for (const node of nodes) outcomes.push(...(await this.agents.fanOut((client) => this.pusher.push(client, image), [node])));
    } finally {
      await image.dispose();
    }
    const pushes = outcomes.filter((o) => o.ok).map((o) => o.value as ImagePushResult);
    if (options.json) {
      this.output.json({ pushes, errors: fleetErrors(outcomes) });
    } else {
      this.output.table(
        ['NODE', 'IMAGE', 'ID', 'SENT', 'SKIPPED'],
        pushes.map((p) => [p.node, p.reference, p.imageId.slice(7, 19), `${p.blobsSent} (${formatBytes(p.bytesSent)})`, `${p.blobsSkipped} (${formatBytes(p.bytesSkipped)})`]),
      );
    }
    throwIfFleetFailed(outcomes);
  }

  @Option({ flags: '--node <name>', description: 'a node to push to (repeatable; default: every node in mcp.toml)' })
  parseNode(value: string, previous: string[] = []): string[] {
    return [...previous, value];
  }

  @Option({ flags: '--json', description: 'machine-readable output: {pushes: [{node, reference, imageId, blobsSent, bytesSent, blobsSkipped, bytesSkipped, agentBytesReceived}], errors: [{node, kind, error}]}' })
  parseJson(): boolean {
    return true;
  }
}

@Command({
  name: 'image',
  description: "images without a registry: push one from this workstation's podman to nodes",
  subCommands: [ImagePushCommand],
})
export class ImageCommand extends CommandRunner {
  async run([action]: string[]): Promise<void> {
    throw new UsageError(action ? `unknown action "${action}": use push` : 'missing action: use push');
  }
}
