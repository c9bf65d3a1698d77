import type { NodeConfig } from './config/cli-config';
import { AgentUnreachableError, CliError, ExitCode, ExitCodeValue, PartialFailureError, exitCodeFor, describeError } from './errors';

/** What one node of a fan-out gave: its value, or the error it failed with. */
export type NodeOutcome<T> = { node: NodeConfig; ok: true; value: T } | { node: NodeConfig; ok: false; error: unknown };

/** Short per-node state for a row: `unreachable`, `unauthenticated` or `error`. */
export function failureLabel(error: unknown): string {
  if (error instanceof AgentUnreachableError) return 'unreachable';
  if (exitCodeFor(error) === ExitCode.unauthenticated) return 'unauthenticated';
  return 'error';
}

/**
 * The exit code of a fan-out: 0 when every node answered; the shared code when all failures
 * agree (3 unreachable, 4 token rejected); 1 when failures differ.
 */
export function fleetExitCode(outcomes: Array<{ ok: boolean; error?: unknown }>): ExitCodeValue {
  const codes = new Set(outcomes.filter((o) => !o.ok).map((o) => exitCodeFor(o.error)));
  if (codes.size === 0) return ExitCode.ok;
  if (codes.size === 1) return [...codes][0] as ExitCodeValue;
  return ExitCode.failure;
}

/** Throws (after the rows were printed) when some node failed; the message lists them. */
export function throwIfFleetFailed(outcomes: NodeOutcome<unknown>[]): void {
  const code = fleetExitCode(outcomes);
  if (code === ExitCode.ok) return;
  const lines = outcomes
    .filter((o): o is Extract<NodeOutcome<unknown>, { ok: false }> => !o.ok)
    .map((o) => (o.error instanceof CliError && o.error.message.includes(o.node.name) ? describeError(o.error) : `${o.node.name}: ${describeError(o.error)}`));
  throw new PartialFailureError(lines.join('\n'), code);
}

export function fleetErrors(outcomes: NodeOutcome<unknown>[]): Array<{ node: string; error: string; kind: string }> {
  return outcomes
    .filter((o): o is Extract<NodeOutcome<unknown>, { ok: false }> => !o.ok)
    .map((o) => ({ node: o.node.name, error: describeError(o.error), kind: failureLabel(o.error) }));
}
