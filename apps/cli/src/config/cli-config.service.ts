// Deep import: @nestjs/common's index loads every service and pipe (~20 ms of `mcp ps`, bench P2).
import 'reflect-metadata'; // what @nestjs/common's index would have loaded first
import { Injectable } from '@nestjs/common/decorators/core/injectable.decorator';
import { findConfigFile, FoundConfigFile } from '@mcp/common';
import { CliContext } from '../cli-context';
import { CommandFailedError } from '../errors';
import { CliConfig, NodeConfig, loadCliConfig } from './cli-config';

/**
 * The CLI's configuration, read once on first use (so `--help` and `completion` never read
 * it). Commands that need nodes call `requireNodes()`/`node()`, which explain how to create
 * the file when there is none.
 */
@Injectable()
export class CliConfigService {
  private cached?: CliConfig;
  private location?: FoundConfigFile;

  constructor(private readonly context: CliContext) {}

  where(): FoundConfigFile {
    this.location ??= findConfigFile({
      explicit: this.context.flags.config,
      envVar: 'MCP_CONFIG',
      appName: 'mcp',
      fileName: 'mcp.toml',
      env: this.context.env,
      homeDir: this.context.homeDir,
    });
    return this.location;
  }

  get(): CliConfig {
    if (!this.cached) {
      const found = this.where();
      this.cached = loadCliConfig({
        file: found.path,
        env: this.context.env,
        homeDir: this.context.homeDir,
        mustExist: found.source === 'flag' || found.source === 'env',
      });
    }
    return this.cached;
  }

  /** The configured nodes; an error saying how to add one when there are none. */
  requireNodes(): NodeConfig[] {
    const config = this.get();
    if (!config.exists) {
      throw new CommandFailedError(
        `no config file: create ${config.file} with a [[nodes]] entry (name, address), or run mcp node add NAME HOST:PORT`,
      );
    }
    if (config.nodes.length === 0) {
      throw new CommandFailedError(`no nodes in ${config.file}: run mcp node add NAME HOST:PORT`);
    }
    return config.nodes;
  }

  node(name: string): NodeConfig {
    const nodes = this.requireNodes();
    const node = nodes.find((candidate) => candidate.name === name);
    if (!node) {
      throw new CommandFailedError(
        `unknown node "${name}" (configured: ${nodes.map((n) => n.name).join(', ')}) in ${this.get().file}`,
      );
    }
    return node;
  }
}
