import { parse as parseToml } from 'smol-toml';

const HEADER = /^\s*\[/;

/** Renders a TOML string literal (basic string, escaped). */
export function tomlString(value: string): string {
  return JSON.stringify(value);
}

/**
 * Appends a `[[nodes]]` entry to mcp.toml text, leaving every other byte as it was
 * (comments included).
 */
export function addNodeToText(text: string, node: { name: string; address: string; serverName?: string; timeout?: string }): string {
  const lines = ['[[nodes]]', `name = ${tomlString(node.name)}`, `address = ${tomlString(node.address)}`];
  if (node.serverName) lines.push(`server_name = ${tomlString(node.serverName)}`);
  if (node.timeout) lines.push(`timeout = ${tomlString(node.timeout)}`);
  const separator = text === '' ? '' : text.endsWith('\n\n') ? '' : text.endsWith('\n') ? '\n' : '\n\n';
  return `${text}${separator}${lines.join('\n')}\n`;
}

/**
 * Removes the `[[nodes]]` entry named `name`: its header line through the line before the
 * next table header, plus comment lines directly above it. Everything else is kept.
 * Returns undefined when no such entry exists.
 */
export function removeNodeFromText(text: string, name: string): string | undefined {
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    if (!/^\s*\[\[\s*nodes\s*\]\]\s*(#.*)?$/.test(lines[i])) continue;
    let end = i + 1;
    while (end < lines.length && !HEADER.test(lines[end])) end++;
    const block = lines.slice(i, end).join('\n');
    const parsed = parseToml(block.replace(/^\s*\[\[\s*nodes\s*\]\]/, '')) as { name?: unknown };
    if (parsed.name === name) {
      // Trailing blank lines of the block stay as separators; a comment block above goes with it.
      let start = i;
      while (start > 0 && /^\s*#/.test(lines[start - 1])) start--;
      let stop = end;
      while (stop > i + 1 && lines[stop - 1].trim() === '') stop--;
      const rest = [...lines.slice(0, start), ...lines.slice(stop)];
      while (rest.length > 1 && rest[start] !== undefined && rest[start].trim() === '' && (start === 0 || rest[start - 1].trim() === '')) {
        rest.splice(start, 1);
      }
      return rest.join('\n');
    }
    i = end - 1;
  }
  return undefined;
}
