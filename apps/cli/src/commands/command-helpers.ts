// Deep import: @nestjs/common's index loads every service and pipe (the quick path, quick.ts, loads this file).
import 'reflect-metadata';
import { Injectable } from '@nestjs/common/decorators/core/injectable.decorator';
import { NAME_PATTERN } from '@mcp/common';
import { CliConfigService } from '../config/cli-config.service';
import { DefinitionStore } from '../definitions/definition-store';
import { CommandFailedError, UsageError } from '../errors';
import { Output } from '../output/output';

export interface Target {
  service: string;
  component?: string;
}

/** Parses `svc` or `svc/comp`; a malformed name is a usage error (exit 2). */
export function parseTarget(text: string | undefined, options: { allowComponent: boolean }): Target {
  if (!text) throw new UsageError('missing service name');
  const parts = text.split('/');
  if (parts.length > 2 || (!options.allowComponent && parts.length > 1)) {
    throw new UsageError(`invalid target "${text}": expected ${options.allowComponent ? 'SERVICE[/COMPONENT]' : 'SERVICE'}`);
  }
  for (const part of parts) {
    if (!NAME_PATTERN.test(part)) throw new UsageError(`invalid name "${part}": must match ${NAME_PATTERN.source}`);
  }
  return { service: parts[0], component: parts[1] };
}

export function parseNonNegativeInt(value: string, flag: string): number {
  if (!/^\d+$/.test(value)) throw new UsageError(`${flag} must be a non-negative integer, got "${value}"`);
  return Number(value);
}

/** Which node a service lives on: `--node`, else its definition file, else the only node. */
@Injectable()
export class ServiceLocator {
  constructor(
    private readonly definitions: DefinitionStore,
    private readonly config: CliConfigService,
  ) {}

  async nodeFor(service: string, explicit?: string): Promise<string> {
    if (explicit) return this.config.node(explicit).name;
    if (this.definitions.exists(service)) return (await this.definitions.load(service)).spec.node;
    const nodes = this.config.requireNodes();
    if (nodes.length === 1) return nodes[0].name;
    throw new UsageError(`no definition file ${this.definitions.fileFor(service)}: pass --node NAME`);
  }
}

/** What an agent answers for each component it deployed, stopped, started… */
export interface ComponentResult {
  component: string;
  container: string;
  ok: boolean;
  /** '' when ok. */
  error: string;
  /** The release a deploy recorded (0 or absent when nothing changed). */
  release?: number;
  /** The failed container's last log lines, newline-separated. */
  logTail?: string;
}

/** Prints one row per component result; throws (exit 1) when any failed. */
export function renderResults(output: Output, verb: string, node: string, results: ComponentResult[]): void {
  output.table(
    ['COMPONENT', 'CONTAINER', 'NODE', 'RESULT'],
    results.map((r) => [
      r.component,
      r.container,
      node,
      r.ok ? { text: verb, style: 'green' as const } : { text: `failed: ${r.error}`, style: 'red' as const },
    ]),
  );
  const failed = results.filter((r) => !r.ok);
  // SPEC §8: a failed deploy says why (above) and shows the failed container's last log lines.
  for (const r of failed) {
    if (r.release) output.line(`${r.component}: release ${r.release} failed (mcp releases shows it)`);
    const tail = (r.logTail ?? '').split('\n').filter((l) => l !== '');
    if (tail.length) {
      output.line(`last ${tail.length} log line(s) of the failed container of ${r.component}:`);
      for (const l of tail) output.line(`  | ${l}`);
    }
  }
  if (failed.length) {
    throw new CommandFailedError(`${failed.length} of ${results.length} component(s) failed: ${failed.map((r) => r.component).join(', ')}`);
  }
}
