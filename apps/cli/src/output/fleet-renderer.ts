import type { NodeConfig } from '../config/cli-config';
import { failureLabel, fleetErrors, throwIfFleetFailed, type NodeOutcome } from '../fleet-outcome';
import type { Cell, Output } from './output';

/** How one fan-out command shows its answers. */
export interface FleetView<T, R> {
  /** The rows one node's answer gives. */
  rows: (value: T, node: NodeConfig) => R[];
  /** Where the rows go in `--json` output; `jsonExtra` adds top-level fields. */
  jsonKey: string;
  jsonExtra?: Record<string, unknown>;
  headers: string[];
  cells: (row: R) => Cell[];
  /** A table row for a node that did not answer (its name and `unreachable`/…); none when absent. */
  failedRow?: (node: string, label: Cell) => Cell[];
  /** Said instead of an empty table. */
  empty?: string;
  /** Said after the table (not with --json), e.g. which nodes are cordoned. */
  footer?: string;
  /** Lines printed on stdout after the table (not with --json), e.g. a sync's job changes. */
  after?: string[];
}

/** The names of the nodes that answered and are cordoned (SPEC §15). */
export function cordonedNodes(outcomes: NodeOutcome<{ cordoned: boolean }>[]): string[] {
  return outcomes.flatMap((o) => (o.ok && o.value.cordoned ? [o.node.name] : []));
}

/** The NODE cell of a fleet table: the name, marked when the node is cordoned. */
export function nodeCell(name: string, cordoned: boolean): Cell {
  return cordoned ? { text: `${name} (cordoned)`, style: 'yellow' } : name;
}

/**
 * The fleet commands' one shape: the nodes' answers become rows, printed as JSON
 * (`{<jsonKey>: rows, errors}`) or as a table with a row per failed node, then the command
 * fails with the fleet's exit code when a node did. Returns the rows.
 */
export function renderFleet<T, R>(output: Output, outcomes: NodeOutcome<T>[], json: boolean | undefined, view: FleetView<T, R>): R[] {
  const rows = outcomes.flatMap((o) => (o.ok ? view.rows(o.value, o.node) : []));
  if (json) {
    output.json({ ...view.jsonExtra, [view.jsonKey]: rows, errors: fleetErrors(outcomes) });
  } else if (rows.length === 0 && view.empty) {
    output.info(view.empty);
  } else {
    const table = rows.map(view.cells);
    const failedRow = view.failedRow;
    if (failedRow) for (const o of outcomes) if (!o.ok) table.push(failedRow(o.node.name, { text: failureLabel(o.error), style: 'red' }));
    output.table(view.headers, table);
  }
  if (!json) for (const line of view.after ?? []) output.line(line);
  if (!json && view.footer) output.info(view.footer);
  throwIfFleetFailed(outcomes);
  return rows;
}
