import { parse, TomlError } from 'smol-toml';
import { ComponentSpec, InvalidServiceDefinitionError, isTable, ServiceSpec, ValidationIssue } from '@mcp/common';
import { fieldDef, fieldKeys, tomlString, tomlStringArray } from './component-fields';
import { backupLines } from './backup-fields';
import { jobLines } from './job-fields';
import { validateServiceSpec } from './validate-service-spec';

/**
 * Parses and validates one service definition file's text. `file` names the file in every
 * issue. Malformed TOML gives one issue with smol-toml's line and column.
 */
export function parseServiceDefinition(text: string, file: string): ServiceSpec {
  return validateServiceSpec(parseToml(text, file), file);
}

export function parseToml(text: string, file?: string): unknown {
  try {
    return parse(text);
  } catch (error: unknown) {
    throw new InvalidServiceDefinitionError([tomlIssue(error, file)]);
  }
}

function tomlIssue(error: unknown, file: string | undefined): ValidationIssue {
  const issue: ValidationIssue = { path: '', reason: 'invalid TOML' };
  if (error instanceof TomlError) {
    // smol-toml's message is "Invalid TOML document: <what>" followed by a code excerpt.
    const what = error.message.split('\n')[0].replace(/^Invalid TOML document:\s*/, '');
    issue.reason = `invalid TOML at line ${error.line}, column ${error.column}: ${what}`;
  } else if (error instanceof Error) {
    issue.reason = `invalid TOML: ${error.message.split('\n')[0]}`;
  }
  return file === undefined ? issue : { file, ...issue };
}

/**
 * The spec as TOML, in the order the operator writes it. Absent optional fields and empty
 * lists are left out; `active` and each route's `mode` are always written.
 */
export function serializeServiceDefinition(spec: ServiceSpec): string {
  const lines = [`name = ${tomlString(spec.name)}`, `node = ${tomlString(spec.node)}`, `active = ${spec.active}`];
  const backup = backupLines(spec.backup, tomlString, tomlStringArray);
  if (backup.length) lines.push('', ...backup);
  for (const component of spec.components) lines.push('', ...componentLines(component));
  const jobs = jobLines(spec.jobs, tomlString, tomlStringArray);
  if (jobs.length) lines.push('', ...jobs);
  return `${lines.join('\n')}\n`;
}

/** `[[components]]` and each present field's `toml` in COMPONENT_FIELDS, in the table's order. */
export function componentLines(component: ComponentSpec): string[] {
  const lines = ['[[components]]'];
  for (const key of fieldKeys()) {
    const value = component[key];
    if (value !== undefined) lines.push(...fieldDef(key).toml(value));
  }
  return lines;
}

/**
 * Sets the service-level `active` in a definition's text, changing nothing else: the
 * existing `active = …` line keeps its indentation and trailing comment; when there is none,
 * `active = …` is inserted after the top-level `node`/`name` line. Keys inside tables
 * (`[[components]]`) are never touched. The result is checked by parsing it.
 */
export function setActiveInDefinition(text: string, active: boolean): string {
  const before = parseToml(text);
  const lines = text.split(/(?<=\n)/);
  const eol = text.includes('\r\n') ? '\r\n' : '\n';
  const statements = topLevelStatements(lines);
  const value = String(active);

  const existing = statements.find((statement) => keyOf(lines[statement.start]) === 'active');
  if (existing) {
    const match = /^(\s*(?:active|"active"|'active')\s*=\s*)(true|false)(?![\w-])/.exec(lines[existing.start]);
    if (!match) {
      throw new InvalidServiceDefinitionError([{ path: 'active', reason: 'must be true or false' }]);
    }
    lines[existing.start] = match[1] + value + lines[existing.start].slice(match[0].length);
  } else {
    const anchor = [...statements].reverse().find((statement) => ['node', 'name'].includes(keyOf(lines[statement.start]) ?? ''));
    const at = anchor ? anchor.end + 1 : statements.length > 0 ? statements[statements.length - 1].end + 1 : 0;
    if (at > 0 && !lines[at - 1].endsWith('\n')) lines[at - 1] += eol;
    lines.splice(at, 0, `active = ${value}${eol}`);
  }

  const result = lines.join('');
  const after = parseToml(result);
  if (!sameExceptActive(before, after, active)) {
    throw new InvalidServiceDefinitionError([{ path: 'active', reason: 'could not be rewritten safely; edit the file by hand' }]);
  }
  return result;
}

/**
 * Sets the service-level `node` in a definition's text (SPEC §15 `mcp move`), changing
 * nothing else: the existing `node = "…"` line keeps its indentation, quoting style and
 * trailing comment; when there is none, `node = …` goes after the top-level `name` line.
 * The result is checked by parsing it: only `node` may differ.
 */
export function setNodeInDefinition(text: string, node: string): string {
  const before = parseToml(text);
  const lines = text.split(/(?<=\n)/);
  const eol = text.includes('\r\n') ? '\r\n' : '\n';
  const statements = topLevelStatements(lines);
  const value = tomlString(node);
  const existing = statements.find((statement) => keyOf(lines[statement.start]) === 'node');
  if (existing) {
    const match = /^(\s*(?:node|"node"|'node')\s*=\s*)("(?:[^"\\]|\\.)*"|'[^']*')/.exec(lines[existing.start]);
    if (!match || existing.end !== existing.start) {
      throw new InvalidServiceDefinitionError([{ path: 'node', reason: 'must be a one-line string to be rewritten; edit the file by hand' }]);
    }
    lines[existing.start] = match[1] + value + lines[existing.start].slice(match[0].length);
  } else {
    const anchor = statements.find((statement) => keyOf(lines[statement.start]) === 'name');
    const at = anchor ? anchor.end + 1 : 0;
    if (at > 0 && !lines[at - 1].endsWith('\n')) lines[at - 1] += eol;
    lines.splice(at, 0, `node = ${value}${eol}`);
  }
  const result = lines.join('');
  const after = parseToml(result);
  const withoutNode = (table: Record<string, unknown>): string => JSON.stringify({ ...table, node: undefined });
  if (!isTable(before) || !isTable(after) || after.node !== node || withoutNode(before) !== withoutNode(after)) {
    throw new InvalidServiceDefinitionError([{ path: 'node', reason: 'could not be rewritten safely; edit the file by hand' }]);
  }
  return result;
}

export function keyOf(line: string): string | undefined {
  return /^\s*(?:([A-Za-z0-9_-]+)|"([^"\\]*)"|'([^']*)')\s*=/.exec(line)?.slice(1).find((key) => key !== undefined);
}

function sameExceptActive(before: unknown, after: unknown, active: boolean): boolean {
  if (!isTable(before) || !isTable(after) || after.active !== active) return false;
  const { active: _before, ...restBefore } = before;
  const { active: _after, ...restAfter } = after;
  return JSON.stringify(restBefore) === JSON.stringify(restAfter);
}

interface Statement {
  /** Line index where a top-level `key = value` starts. */
  start: number;
  /** Line index where its value ends (multi-line strings and arrays span lines). */
  end: number;
}

/** The top-level key/value statements: those before the first table header. */
function topLevelStatements(lines: string[]): Statement[] {
  const statements: Statement[] = [];
  const state: ScanState = { string: undefined, depth: 0 };
  let current: number | undefined;
  for (let index = 0; index < lines.length; index++) {
    const line = lines[index];
    const atStatementStart = state.string === undefined && state.depth === 0;
    if (atStatementStart) {
      const trimmed = line.trimStart();
      if (trimmed.startsWith('[')) break;
      if (trimmed !== '' && !trimmed.startsWith('#')) current = index;
    }
    scanLine(line, state);
    if (current !== undefined && state.string === undefined && state.depth === 0) {
      statements.push({ start: current, end: index });
      current = undefined;
    }
  }
  return statements;
}

export interface ScanState {
  /** The open multi-line string's delimiter, if a line ended inside one. */
  string: '"""' | "'''" | undefined;
  /** Open `[` / `{` of arrays and inline tables. */
  depth: number;
}

/** Advances `state` over one line, skipping strings and comments, counting brackets. */
export function scanLine(line: string, state: ScanState): void {
  let i = 0;
  while (i < line.length) {
    if (state.string) {
      const close = findClose(line, i, state.string);
      if (close < 0) return;
      i = close + 3;
      state.string = undefined;
      continue;
    }
    const rest = line.slice(i);
    if (rest.startsWith('"""') || rest.startsWith("'''")) {
      state.string = rest.slice(0, 3) as '"""' | "'''";
      i += 3;
    } else if (line[i] === '"' || line[i] === "'") {
      i = skipSingleLineString(line, i);
    } else if (line[i] === '#') {
      return;
    } else {
      if (line[i] === '[' || line[i] === '{') state.depth++;
      if (line[i] === ']' || line[i] === '}') state.depth--;
      i++;
    }
  }
}

function findClose(line: string, from: number, delimiter: '"""' | "'''"): number {
  for (let i = from; i <= line.length - 3; i++) {
    if (delimiter === '"""' && line[i] === '\\') {
      i++;
      continue;
    }
    if (line.startsWith(delimiter, i)) {
      // Up to two quotes may directly precede the closing delimiter and belong to the string.
      let end = i;
      while (line[end + 3] === delimiter[0] && end - i < 2) end++;
      return end;
    }
  }
  return -1;
}

function skipSingleLineString(line: string, start: number): number {
  const quote = line[start];
  for (let i = start + 1; i < line.length; i++) {
    if (quote === '"' && line[i] === '\\') {
      i++;
    } else if (line[i] === quote) {
      return i + 1;
    }
  }
  return line.length;
}
