import * as fs from 'node:fs';
import * as path from 'node:path';
// Deep import: @nestjs/common's index loads every service and pipe (~20 ms of `mcp ps`, bench P2).
import 'reflect-metadata'; // what @nestjs/common's index would have loaded first
import { Injectable } from '@nestjs/common/decorators/core/injectable.decorator';
import type { ValidationIssue } from './errors';

/**
 * What a failpoint does when the code reaches it:
 * - `kill`: SIGKILL this process right there (a crash at a named point, for crash tests);
 * - `pause`: create `<file>.reached`, then wait until `file` exists and carry on (lets a test
 *   act while the agent stands at that point, e.g. cut a link or kill podman's service).
 */
export type FailpointAction = { kind: 'kill' } | { kind: 'pause'; file: string };

export interface FailpointSetting {
  name: string;
  action: FailpointAction;
}

/** The environment variable that arms failpoints; only the agent's config loading reads it. */
export const FAILPOINTS_ENV = 'MCP_AGENT_FAILPOINTS';

const NAME = /^[a-z][a-z0-9-]*(\.[a-z0-9][a-z0-9-]*)+$/;

/**
 * Parses `name=action[,name=action…]` (action `kill`, or `pause:<absolute file>`). Returns the
 * settings and every problem found; an empty or blank string arms nothing.
 */
export function parseFailpoints(value: string): { settings: FailpointSetting[]; issues: ValidationIssue[] } {
  const settings: FailpointSetting[] = [];
  const issues: ValidationIssue[] = [];
  const where = (index: number) => `${FAILPOINTS_ENV}[${index}]`;
  value
    .split(',')
    .map((entry) => entry.trim())
    .forEach((entry, index) => {
      if (entry === '') return;
      const eq = entry.indexOf('=');
      const name = eq < 0 ? entry : entry.slice(0, eq);
      const action = eq < 0 ? '' : entry.slice(eq + 1);
      if (!NAME.test(name)) {
        issues.push({ path: where(index), reason: `"${name}" is not a failpoint name (dotted lower-case words, like deploy.after-pull)` });
        return;
      }
      if (settings.some((s) => s.name === name)) {
        issues.push({ path: where(index), reason: `failpoint ${name} is set twice` });
        return;
      }
      if (action === 'kill') {
        settings.push({ name, action: { kind: 'kill' } });
      } else if (action.startsWith('pause:') && path.isAbsolute(action.slice('pause:'.length))) {
        settings.push({ name, action: { kind: 'pause', file: action.slice('pause:'.length) } });
      } else {
        issues.push({ path: where(index), reason: `${name}: action must be "kill" or "pause:<absolute file>", not "${action}"` });
      }
    });
  return { settings, issues };
}

/** How often a paused failpoint looks for its file. */
const PAUSE_POLL_MS = 50;

/**
 * Named points in the agent's code where a test can crash or stall it (SPEC Part II, issue
 * #12's crash tests). Armed only by `MCP_AGENT_FAILPOINTS` at start-up, never by config files
 * or RPCs; unarmed, `hit` returns at once and changes nothing. A failpoint can only stop or
 * delay the agent — it never skips a check or alters data — so arming one cannot make the
 * agent accept anything it would otherwise refuse.
 */
@Injectable()
export class Failpoints {
  private readonly armed: ReadonlyMap<string, FailpointAction>;

  constructor(settings: readonly FailpointSetting[] = []) {
    this.armed = new Map(settings.map((s) => [s.name, s.action]));
  }

  /** The armed failpoints' names (for the start-up warning). */
  names(): string[] {
    return [...this.armed.keys()];
  }

  async hit(name: string): Promise<void> {
    const action = this.armed.get(name);
    if (!action) return;
    if (action.kind === 'kill') {
      process.kill(process.pid, 'SIGKILL');
      // SIGKILL to oneself is delivered before kill() returns on Linux; never go on regardless.
      await new Promise<never>(() => undefined);
    }
    if (action.kind === 'pause') {
      fs.writeFileSync(`${action.file}.reached`, '');
      while (!fs.existsSync(action.file)) await new Promise((resolve) => setTimeout(resolve, PAUSE_POLL_MS));
    }
  }
}
