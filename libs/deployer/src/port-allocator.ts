import * as net from 'node:net';
import { Injectable } from '@nestjs/common';
import { UnavailableError } from '@mcp/common';
import { ServiceRegistry } from '@mcp/registry';
import { DeployerOptions } from './deployer-options';
import { KeyedMutex } from './keyed-mutex';

/** Probes whether a TCP port can be bound on the host right now. A port so other code can fake the host. */
export abstract class HostPortProbe {
  abstract isFree(input: { address: string; port: number }): Promise<boolean>;
}

/** Binds the port briefly on the bind address and lets it go again. */
@Injectable()
export class NetHostPortProbe extends HostPortProbe {
  isFree(input: { address: string; port: number }): Promise<boolean> {
    return new Promise((resolve) => {
      const server = net.createServer();
      server.unref();
      server.once('error', () => resolve(false));
      server.listen({ host: input.address, port: input.port, exclusive: true }, () => {
        server.close(() => resolve(true));
      });
    });
  }
}

export interface AllocateInput {
  service: string;
  component: string;
  /** One entry per route needing a host port, in order. */
  routes: Array<{ name: string }>;
  /** The component's current ports by route name; kept where still free. */
  previous?: Array<{ name: string; hostPort: number | null }>;
  /**
   * New ports beside the component's current ones (a start-first deploy: the old container
   * keeps its ports until it is removed), so the component's own registered ports count as taken.
   */
  beside?: boolean;
}

const MAX_ATTEMPTS = 500;
const LOCK_KEY = 'port-allocator';

/**
 * Picks host ports for a component's routes (SPEC §2 step 3): random in the configured range,
 * free on the host, and not held by any other registered route or by an allocation still in
 * flight. Allocations are serialised, so concurrent deploys never collide. A port stays
 * reserved in memory until `settle` (after the registry recorded it, or the attempt failed).
 */
@Injectable()
export class PortAllocator {
  /** `service/component` -> ports handed out but not yet settled. */
  private readonly reserved = new Map<string, number[]>();
  private readonly lock = new KeyedMutex();

  constructor(
    private readonly registry: ServiceRegistry,
    private readonly probe: HostPortProbe,
    private readonly options: DeployerOptions,
  ) {}

  allocate(input: AllocateInput): Promise<number[]> {
    return this.lock.run(LOCK_KEY, () => this.allocateLocked(input));
  }

  /** Drops the in-memory reservation of a component (its ports are in the registry now, or unused). */
  settle(input: { service: string; component: string }): void {
    this.reserved.delete(keyOf(input));
  }

  private async allocateLocked(input: AllocateInput): Promise<number[]> {
    const own = keyOf(input);
    const taken = new Set<number>();
    for (const held of await this.registry.allocatedHostPorts()) {
      if (input.beside || keyOf({ service: held.service, component: held.component }) !== own) taken.add(held.hostPort);
    }
    for (const [key, ports] of this.reserved) {
      if (key !== own) ports.forEach((port) => taken.add(port));
    }

    const result: number[] = [];
    for (const route of input.routes) {
      const previous = input.beside ? null : (input.previous?.find((p) => p.name === route.name)?.hostPort ?? null);
      // The component's old container may still hold its port until it is replaced, so a
      // previous port is kept on the registry's word alone (no host probe).
      if (previous !== null && this.inRange(previous) && !taken.has(previous)) {
        result.push(previous);
        taken.add(previous);
        continue;
      }
      const port = await this.pickFree(taken);
      result.push(port);
      taken.add(port);
    }
    this.reserved.set(own, result);
    return result;
  }

  private inRange(port: number): boolean {
    return port >= this.options.portRangeStart && port <= this.options.portRangeEnd;
  }

  private async pickFree(taken: Set<number>): Promise<number> {
    const { portRangeStart: low, portRangeEnd: high } = this.options;
    const size = high - low + 1;
    for (let attempt = 0; attempt < Math.min(MAX_ATTEMPTS, size * 2); attempt++) {
      const port = low + Math.floor(Math.random() * size);
      if (taken.has(port)) continue;
      if (await this.probe.isFree({ address: this.options.bindAddress, port })) return port;
      taken.add(port);
    }
    // Random picks can miss the last free ports of a nearly full (or small) range: sweep it.
    for (let port = low; port <= high; port++) {
      if (!taken.has(port) && (await this.probe.isFree({ address: this.options.bindAddress, port }))) return port;
    }
    throw new UnavailableError(`no free host port in ${low}-${high} on ${this.options.bindAddress}`);
  }
}

function keyOf(input: { service: string; component: string }): string {
  return `${input.service}/${input.component}`;
}
