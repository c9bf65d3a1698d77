import * as net from 'node:net';
import * as path from 'node:path';
import { Command, CommandRunner, Help, Option } from 'nest-commander';
import { Clock, parseDuration } from '@mcp/common';
import { TokenStore } from '../auth/token-store';
import { Agents } from '../client/agents.service';
import { CliConfigService } from '../config/cli-config.service';
import { CommandFailedError, UsageError } from '../errors';
import { Output } from '../output/output';
import { FleetWatcher } from '../ui/fleet-watcher';
import { UiAssets } from '../ui/ui-assets';
import { UiServer } from '../ui/ui-server';

interface UiOptions {
  listen?: { host: string; port: number };
  interval?: number;
}

const DEFAULT_LISTEN = { host: '127.0.0.1', port: 7070 };
const DEFAULT_INTERVAL_MS = 2000;

/** `host:port` or `[v6]:port`; the host must be an IP address or `localhost`. */
export function parseListen(value: string): { host: string; port: number } {
  const match = /^(?:\[([^\]]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(value.trim());
  const host = match?.[1] ?? match?.[2];
  const port = Number(match?.[3]);
  if (!match || !host || port > 65535 || (host !== 'localhost' && net.isIP(host) === 0)) {
    throw new UsageError(`--listen must be an address and port like 127.0.0.1:7070 or [::1]:7070, got "${value}"`);
  }
  return { host, port };
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\./.test(host);
}

function urlHost(host: string): string {
  return net.isIPv6(host) ? `[${host}]` : host;
}

@Command({
  name: 'ui',
  description: 'a live, read-only web dashboard of the fleet, served on this machine (Ctrl-C stops it)',
})
export class UiCommand extends CommandRunner {
  constructor(
    private readonly agents: Agents,
    private readonly config: CliConfigService,
    private readonly tokens: TokenStore,
    private readonly output: Output,
    private readonly clock: Clock,
  ) {
    super();
  }

  @Help('after')
  moreHelp(): string {
    return `
Serves a dashboard from this CLI: the agents stay gRPC-only and the page reads them through
it, with your token (as \`mcp ps\` does). It prints a URL with a fresh random access token;
open it in a browser. Requests without the token get 401 (the browser keeps it in an
HttpOnly cookie after the first visit), so other users of this machine cannot read it.
The token changes every time \`mcp ui\` starts.

  overview   nodes up or unreachable (agent version, containers, memory and disk free),
             services with component state and health, drift in red, routes → host ports
  service    components, routes, health, releases, recent events, a live log tail
  events     every node's events, newest first, as they happen

Nothing on the page can change the fleet: it is read-only. The page needs no network but
this machine (no CDN; every file comes from the CLI). It follows the agents every
--interval while a page is open, and idles otherwise.

Examples:
  mcp ui                              # http://127.0.0.1:7070/?token=…
  mcp ui --listen 127.0.0.1:0         # any free port
  ssh -L 7070:127.0.0.1:7070 workstation   # to look from another machine: tunnel, do not bind wide
`;
  }

  async run(_args: string[], options: UiOptions = {}): Promise<void> {
    const listen = options.listen ?? DEFAULT_LISTEN;
    const nodes = this.config.requireNodes();
    await this.tokens.read(); // not logged in: say so now, not on the page
    const assets = UiAssets.load(path.join(__dirname, 'ui'));
    const watcher = new FleetWatcher({
      nodes,
      connect: (node) => this.agents.forNode(node.name),
      clock: this.clock,
      intervalMs: options.interval ?? DEFAULT_INTERVAL_MS,
    });
    const server = new UiServer({ source: watcher, assets });
    let bound: { host: string; port: number };
    try {
      bound = await server.listen(listen.host, listen.port);
    } catch (error) {
      watcher.stop();
      const code = (error as NodeJS.ErrnoException).code;
      const where = `${urlHost(listen.host)}:${listen.port}`;
      if (code === 'EADDRINUSE') throw new CommandFailedError(`${where} is in use: choose another port with --listen (port 0 lets the system pick)`);
      throw new CommandFailedError(`cannot listen on ${where}: ${code ?? (error as Error).message}`);
    }
    const url = `http://${urlHost(bound.host)}:${bound.port}/?token=${server.token}`;
    const size = assets.size();
    this.output.line(`mcp ui: dashboard of ${nodes.length} node${nodes.length === 1 ? '' : 's'} at ${url}`);
    this.output.info(`open that URL in a browser (it carries the access token); page ${(size.gzip / 1024).toFixed(1)} KiB gzipped; Ctrl-C stops`);
    if (!isLoopback(bound.host)) {
      this.output.warn(`listening on ${bound.host}, not loopback: the dashboard is plain HTTP, so the token and the fleet's state cross the network unencrypted`);
    }
    await new Promise<void>((resolve) => {
      const stop = () => {
        process.removeListener('SIGINT', stop);
        process.removeListener('SIGTERM', stop);
        resolve();
      };
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });
    watcher.stop();
    await server.close();
  }

  @Option({ flags: '--listen <host:port>', description: 'address to serve on (default 127.0.0.1:7070; port 0: any free port)' })
  parseListenOption(value: string): { host: string; port: number } {
    return parseListen(value);
  }

  @Option({ flags: '--interval <duration>', description: 'how often to read the agents while a page is open (default 2s)' })
  parseInterval(value: string): number {
    const ms = parseDuration(value);
    if (ms === undefined || ms < 200) throw new UsageError(`--interval must be a duration of at least 200ms like 2s, got "${value}"`);
    return ms;
  }
}
