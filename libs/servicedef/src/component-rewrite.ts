import { parse } from 'smol-toml';
import { InvalidServiceDefinitionError, isTable, type ComponentSpec, type ServiceSpec } from '@mcp/common';
import { canonicalJson, componentSpecHash } from './component-hash';
import { componentLines, keyOf, parseToml, scanLine, type ScanState } from './service-definition';
import { validateServiceSpec } from './validate-service-spec';

/** One logical line of the file: a table header, a `key = value` statement (maybe several lines), or anything else. */
interface Item {
  kind: 'header' | 'kv' | 'other';
  /** First and last line index. */
  start: number;
  end: number;
  /** Header: the table name without brackets or spaces; kv: the key. */
  name: string;
  array: boolean;
}

/** A table of the component: its header item (absent for none) and the items up to the next header. */
interface Section {
  header: Item;
  items: Item[];
}

/**
 * Rewrites one component's fields in a definition's text to `component` (matched by name),
 * changing nothing outside that component: comments, blank lines, other components and the
 * service-level keys stay byte-for-byte. Inside the component, an unchanged key keeps its
 * line; a changed one-line key keeps its trailing comment; comment lines stay. When the
 * number of routes changes, the route tables are written afresh (their comments go).
 * A component the file lacks is appended. The result is checked by parsing it; a rewrite that
 * would change anything else is refused.
 */
export function setComponentInDefinition(text: string, component: ComponentSpec, file?: string): string {
  const before = parseToml(text, file);
  const eol = text.includes('\r\n') ? '\r\n' : '\n';
  const lines = text.split(/(?<=\n)/);
  const items = scan(lines);
  const oldComponents = isTable(before) && Array.isArray(before.components) ? (before.components as unknown[]) : [];
  const index = oldComponents.findIndex((c) => isTable(c) && c.name === component.name);
  const fresh = componentLines(component);
  let result: string;
  if (index < 0) {
    const ending = text === '' || text.endsWith('\n') ? '' : eol;
    result = `${text}${ending}${text.trim() === '' ? '' : eol}${fresh.join(eol)}${eol}`;
  } else {
    const oldTable = oldComponents[index] as Record<string, unknown>;
    const headers = items.filter((item) => item.kind === 'header' && item.array && item.name === 'components');
    const header = headers[index];
    const startAt = items.indexOf(header);
    let endAt = items.findIndex((item, i) => i > startAt && item.kind === 'header' && !(item.name.startsWith('components.') && !(item.array && item.name === 'components')));
    if (endAt < 0) endAt = items.length;
    // Comments and blank lines right before the next table belong to what follows.
    while (endAt - 1 > startAt && items[endAt - 1].kind === 'other') endAt--;
    const block = items.slice(startAt, endAt);
    const oldSpec = validateServiceSpec(before, file).components.find((c) => c.name === component.name);
    const replaced = rewriteBlock({ lines, block, oldTable, oldSpec, fresh, eol });
    const first = block[0].start;
    const last = block[block.length - 1].end;
    result = [...lines.slice(0, first), ...replaced, ...lines.slice(last + 1)].join('');
  }
  check({ before, after: parseToml(result, file), component, index, file });
  return result;
}

function scan(lines: string[]): Item[] {
  const items: Item[] = [];
  const state: ScanState = { string: undefined, depth: 0 };
  let current: Item | undefined;
  for (let index = 0; index < lines.length; index++) {
    const line = lines[index];
    if (current === undefined) {
      const trimmed = line.trim();
      const header = /^(\[\[?)\s*([^\]]*?)\s*\]\]?\s*(#.*)?$/.exec(trimmed);
      if (header) {
        items.push({ kind: 'header', start: index, end: index, name: header[2].replace(/\s+/g, '').replace(/["']/g, ''), array: header[1] === '[[' });
        continue;
      }
      const key = keyOf(line);
      current = key === undefined ? { kind: 'other', start: index, end: index, name: '', array: false } : { kind: 'kv', start: index, end: index, name: key, array: false };
    }
    scanLine(line, state);
    if (state.string === undefined && state.depth <= 0) {
      state.depth = 0;
      current.end = index;
      items.push(current);
      current = undefined;
    }
  }
  if (current) {
    current.end = lines.length - 1;
    items.push(current);
  }
  return items;
}

/** The fresh lines of a component split into its tables: main, health, each route. */
function freshSections(fresh: string[]): Array<{ name: string; lines: string[] }> {
  const sections: Array<{ name: string; lines: string[] }> = [];
  for (const line of fresh) {
    if (line.startsWith('[')) sections.push({ name: line.replace(/[[\]]/g, ''), lines: [] });
    else if (line !== '') sections[sections.length - 1].lines.push(line);
  }
  return sections;
}

function rewriteBlock(input: { lines: string[]; block: Item[]; oldTable: Record<string, unknown>; oldSpec?: ComponentSpec; fresh: string[]; eol: string }): string[] {
  const { lines, block, oldTable, oldSpec, eol } = input;
  const sections: Section[] = [];
  for (const item of block) {
    if (item.kind === 'header') sections.push({ header: item, items: [] });
    else sections[sections.length - 1].items.push(item);
  }
  const wanted = freshSections(input.fresh);
  const [main, ...subs] = sections;
  const oldHealth = subs.find((s) => s.header.name === 'components.health');
  const oldRoutes = subs.filter((s) => s.header.name === 'components.routes');
  const newHealth = wanted.find((s) => s.name === 'components.health');
  const newRoutes = wanted.filter((s) => s.name === 'components.routes');
  const text = (item: Item): string[] => lines.slice(item.start, item.end + 1);
  const freshTable = (name: string, body: string[]): string[] => [`${eol}`, `[${name === 'components.routes' ? `[${name}]` : name}]${eol}`, ...body.map((l) => `${l}${eol}`)];

  const out: string[] = [...rewriteSection(main, oldTable, oldSpec, wanted[0].lines, lines, eol)];
  if (oldHealth === undefined && newHealth) out.push(...freshTable(newHealth.name, newHealth.lines));
  const routesChanged = oldRoutes.length !== newRoutes.length;
  const oldRouteTables = Array.isArray(oldTable.routes) ? (oldTable.routes as Record<string, unknown>[]) : [];
  let routeIndex = 0;
  let routesWritten = false;
  for (const section of subs) {
    if (section === oldHealth) {
      if (newHealth) out.push(...rewriteSection(section, isTable(oldTable.health) ? oldTable.health : {}, oldSpec?.health, newHealth.lines, lines, eol));
      continue;
    }
    if (section.header.name === 'components.routes') {
      if (!routesChanged) {
        out.push(...rewriteSection(section, oldRouteTables[routeIndex] ?? {}, oldSpec?.routes[routeIndex], newRoutes[routeIndex].lines, lines, eol));
        routeIndex++;
      } else if (!routesWritten) {
        routesWritten = true;
        for (const route of newRoutes) out.push(...freshTable(route.name, route.lines));
      }
      continue;
    }
    out.push(...text(section.header), ...section.items.flatMap(text));
  }
  if (routesChanged && !routesWritten) for (const route of newRoutes) out.push(...freshTable(route.name, route.lines));
  // A fresh table after the last line of the file needs that line ended.
  for (let i = 0; i < out.length - 1; i++) if (!out[i].endsWith('\n')) out[i] += eol;
  return out;
}

/** One table's lines with each key set to its fresh `key = value` line, unchanged keys untouched. */
function rewriteSection(section: Section, oldTable: Record<string, unknown>, normalized: object | undefined, fresh: string[], lines: string[], eol: string): string[] {
  const wanted = new Map(fresh.map((line) => [line.slice(0, line.indexOf(' = ')), line]));
  const done = new Set<string>();
  const out: string[] = [...lines.slice(section.header.start, section.header.end + 1)];
  let afterLastKv = out.length;
  for (const item of section.items) {
    const original = lines.slice(item.start, item.end + 1);
    if (item.kind !== 'kv') {
      out.push(...original);
      continue;
    }
    const line = wanted.get(item.name);
    if (line === undefined) continue;
    done.add(item.name);
    const value = (parse(line) as Record<string, unknown>)[item.name];
    if (canonicalJson(value) === canonicalJson(oldTable[item.name])) {
      out.push(...original);
    } else {
      const comment = item.start === item.end ? trailingComment(original[0]) : '';
      const ending = original[original.length - 1].endsWith('\n') ? eol : '';
      out.push(`${line}${comment ? ` ${comment}` : ''}${ending}`);
    }
    afterLastKv = out.length;
  }
  // A key the file leaves to its default (a route's `mode`) is not written out when the default is wanted.
  const defaults = (normalized ?? {}) as Record<string, unknown>;
  const added = [...wanted]
    .filter(([key, line]) => !done.has(key) && canonicalJson((parse(line) as Record<string, unknown>)[key]) !== canonicalJson(defaults[key] ?? null))
    .map(([, line]) => `${line}${eol}`);
  if (added.length && !out[afterLastKv - 1].endsWith('\n')) out[afterLastKv - 1] += eol;
  out.splice(afterLastKv, 0, ...added);
  return out;
}

/** `# …` at the end of a one-line statement, outside strings; '' when none. */
function trailingComment(line: string): string {
  const body = line.replace(/\r?\n$/, '');
  let quote: string | undefined;
  for (let i = 0; i < body.length; i++) {
    if (quote === '"' && body[i] === '\\') i++;
    else if (quote && body[i] === quote) quote = undefined;
    else if (!quote && (body[i] === '"' || body[i] === "'")) quote = body[i];
    else if (!quote && body[i] === '#') return body.slice(i);
  }
  return '';
}

function check(input: { before: unknown; after: unknown; component: ComponentSpec; index: number; file?: string }): void {
  const refuse = (): never => {
    throw new InvalidServiceDefinitionError([{ ...(input.file ? { file: input.file } : {}), path: `components[${input.index < 0 ? 'new' : input.index}]`, reason: `could not rewrite component "${input.component.name}" safely; edit the file by hand` }]);
  };
  let spec: ServiceSpec;
  try {
    spec = validateServiceSpec(input.after, input.file);
  } catch {
    return refuse();
  }
  const rewritten = spec.components.find((c) => c.name === input.component.name);
  if (!rewritten || componentSpecHash(rewritten) !== componentSpecHash(input.component)) refuse();
  if (!isTable(input.before) || !isTable(input.after)) return refuse();
  const others = (table: Record<string, unknown>): string => {
    const components = Array.isArray(table.components) ? (table.components as unknown[]) : [];
    return canonicalJson({ ...table, components: components.filter((c) => !(isTable(c) && c.name === input.component.name)) });
  };
  if (others(input.before) !== others(input.after)) refuse();
}
