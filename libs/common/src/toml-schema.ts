import type { ValidationIssue } from './errors';

/**
 * The one way MCP checks its TOML documents (service definitions, the agent's and the CLI's
 * config): a schema of keys, each with a rule, walked once so that every problem is
 * reported at once as `path: reason`. Rules judge one value; the walker knows tables,
 * arrays of tables and unknown keys. Checks that relate several keys stay with the caller.
 */
export type Table = Record<string, unknown>;

export function isTable(value: unknown): value is Table {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Date);
}

/**
 * A problem a rule found, at a path suffix relative to the value (`''` for the value itself,
 * `[2]` for an element), so list rules report each bad element at its own path.
 */
export interface RuleProblem {
  suffix: string;
  reason: string;
}

/** Judges one value; called for absent keys too (value `undefined`), so it can require them. */
export type FieldRule = (value: unknown) => RuleProblem[];

export interface FieldSchema {
  /** The value's own rule. When it reports the value itself (suffix `''`), nothing below is walked. */
  rule?: FieldRule;
  /** The value, when present, is a table with these keys ('must be a table' otherwise). */
  keys?: TableSchema;
  /** The value is an array; its table elements have these keys (its rule judges the rest). */
  each?: TableSchema;
}

export interface TableSchema {
  fields: Record<string, FieldSchema>;
  /** The reason given for a key the schema does not know; `unknown key` unless said. */
  unknownKey?: string;
}

export const ok: RuleProblem[] = [];

export function problem(reason: string, suffix = ''): RuleProblem[] {
  return [{ suffix, reason }];
}

/** An array of tables: a value that is not one, or an element that is not a table, is reported. */
export function tableList(options: { notArray?: string; empty?: string; required?: string } = {}): FieldRule {
  return (value) => {
    if (value === undefined) return options.required ? problem(options.required) : ok;
    if (!Array.isArray(value)) return problem(options.notArray ?? 'must be an array of tables');
    if (value.length === 0 && options.empty) return problem(options.empty);
    const problems: RuleProblem[] = [];
    value.forEach((item: unknown, index) => {
      if (!isTable(item)) problems.push({ suffix: `[${index}]`, reason: 'must be a table' });
    });
    return problems;
  };
}

function childPath(parent: string, key: string): string {
  return parent ? `${parent}.${key}` : key;
}

/** Walks `value` (a table) against `schema`; returns every problem, paths from `at`. */
export function checkTable(value: unknown, schema: TableSchema, at = ''): ValidationIssue[] {
  const issues: ValidationIssue[] = [];
  walkTable(value, schema, at, issues);
  return issues;
}

function walkTable(value: unknown, schema: TableSchema, at: string, issues: ValidationIssue[]): void {
  if (!isTable(value)) {
    issues.push({ path: at, reason: 'must be a table' });
    return;
  }
  // The keys present in document order, then the absent ones (their rules may require them).
  for (const [key, item] of Object.entries(value)) {
    // hasOwn: keys like `constructor` or `toString` must not pass for known ones.
    if (Object.hasOwn(schema.fields, key)) walkField(item, schema.fields[key], childPath(at, key), issues);
    else issues.push({ path: childPath(at, key), reason: schema.unknownKey ?? 'unknown key' });
  }
  for (const [key, field] of Object.entries(schema.fields)) {
    if (!Object.hasOwn(value, key)) walkField(undefined, field, childPath(at, key), issues);
  }
}

function walkField(value: unknown, field: FieldSchema, at: string, issues: ValidationIssue[]): void {
  const problems = field.rule?.(value) ?? ok;
  for (const found of problems) issues.push({ path: at + found.suffix, reason: found.reason });
  if (problems.some((found) => found.suffix === '') || value === undefined) return;
  if (field.keys) walkTable(value, field.keys, at, issues);
  if (field.each && Array.isArray(value)) {
    value.forEach((item: unknown, index) => {
      if (isTable(item)) walkTable(item, field.each!, `${at}[${index}]`, issues);
    });
  }
}
