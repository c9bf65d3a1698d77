import type { ComponentSpec, RouteSpec } from '@mcp/common';
import { canonicalJson } from './component-hash';
import { parseImageReference } from './image-reference';

type Change<K extends keyof ComponentSpec> = (before: ComponentSpec[K], after: ComponentSpec[K]) => string;

/** `a → b`, `(none)` for an absent value. */
const scalar = <K extends keyof ComponentSpec>(before: ComponentSpec[K], after: ComponentSpec[K]): string =>
  before === after ? '' : `${String(before ?? '(none)')} → ${String(after ?? '(none)')}`;

/**
 * How a change of each ComponentSpec field reads in a deploy plan, in the order the plan lists
 * them. Every field has an entry (tsc rejects one that is missing), so a new field cannot be
 * left out of `deploy --dry-run`; `name` identifies the component and is never a change.
 */
const CHANGES: { [K in keyof ComponentSpec]-?: Change<K> | null } = {
  name: null,
  image: (before, after) => (before === after ? '' : imageChange(before, after)),
  network: scalar,
  user: scalar,
  restart: scalar,
  strategy: scalar,
  pull: scalar,
  hooks: (before, after) => (canonicalJson(before ?? null) === canonicalJson(after ?? null) ? '' : `${hooksText(before)} → ${hooksText(after)}`),
  drain: scalar,
  stop_signal: scalar,
  stop_timeout: scalar,
  env: (before, after) => envChange(before, after),
  ports: (before, after) => setChange(before, after),
  volumes: (before, after) => setChange(before, after),
  cmd: (before, after) => (canonicalJson(before) === canonicalJson(after) ? '' : `${listText(before)} → ${listText(after)}`),
  routes: (before, after) => setChange(before.map(routeText), after.map(routeText)),
  health: (before, after) => (canonicalJson(before ?? null) === canonicalJson(after ?? null) ? '' : `${healthText(before)} → ${healthText(after)}`),
  memory: scalar,
  cpus: scalar,
  secrets: (before, after) => setChange(before ?? [], after ?? []),
  // Variable → secret name; `~` when a variable names another secret (no value is ever shown).
  env_secrets: (before, after) => envChange(entries(before), entries(after)),
  depends_on: (before, after) => setChange(before ?? [], after ?? []),
};

/**
 * Every field in which `after` differs from `before`, one line each, as a deploy plan shows
 * them (SPEC §8): `image: 1.0 → 2.0`, `env: +FOO ~BAR -BAZ`, `ports: +8080:80 -9090:80`,
 * `user: (none) → 0:0`, `health: (implicit) → GET /up`, `memory: 256m → 512m`. Empty when
 * nothing differs.
 */
export function specChanges(before: ComponentSpec, after: ComponentSpec): string[] {
  const changes: string[] = [];
  for (const key of Object.keys(CHANGES) as (keyof ComponentSpec)[]) {
    const change = CHANGES[key] as Change<typeof key> | null;
    const text = change?.(before[key], after[key]);
    if (text) changes.push(`${key}: ${text}`);
  }
  return changes;
}

function entries(table: Record<string, string> | undefined): string[] {
  return Object.entries(table ?? {}).map(([key, value]) => `${key}=${value}`);
}

/** The tags when only the tag changed (`1.0 → 2.0`), else both references. */
function imageChange(before: string, after: string): string {
  try {
    const a = parseImageReference(before);
    const b = parseImageReference(after);
    if (a && b && a.path === b.path && a.domain === b.domain && a.tag && b.tag && !a.digest && !b.digest) return `${a.tag} → ${b.tag}`;
  } catch {
    // Fall through to the whole references.
  }
  return `${before} → ${after}`;
}

/** `+NEW ~CHANGED -GONE` by variable name (values are never shown: they may be secret). */
export function envChange(before: string[], after: string[]): string {
  const parse = (list: string[]): Map<string, string> => new Map(list.map((item) => [item.slice(0, item.indexOf('=')), item.slice(item.indexOf('=') + 1)]));
  const a = parse(before);
  const b = parse(after);
  const parts: string[] = [];
  for (const [key, value] of b) {
    if (!a.has(key)) parts.push(`+${key}`);
    else if (a.get(key) !== value) parts.push(`~${key}`);
  }
  for (const key of a.keys()) if (!b.has(key)) parts.push(`-${key}`);
  return parts.join(' ');
}

function setChange(before: string[], after: string[]): string {
  const added = after.filter((item) => !before.includes(item)).map((item) => `+${item}`);
  const removed = before.filter((item) => !after.includes(item)).map((item) => `-${item}`);
  return [...added, ...removed].join(' ');
}

function listText(list: string[]): string {
  return list.length ? `[${list.join(' ')}]` : '(image default)';
}

function routeText(route: RouteSpec): string {
  return `${route.name ? `${route.name}=` : ''}:${route.port}/${route.mode}${route.hostname ? `@${route.hostname}` : ''}`;
}

function healthText(health: ComponentSpec['health']): string {
  if (!health) return '(implicit)';
  const kind = health.http !== undefined ? `GET ${health.http}` : health.tcp ? 'tcp' : `cmd ${listText(health.cmd ?? [])}`;
  const extra = (['route', 'port', 'interval', 'timeout', 'start_period', 'healthy'] as const)
    .filter((key) => health[key] !== undefined)
    .map((key) => `${key}=${String(health[key])}`);
  return [kind, ...extra].join(' ');
}

function hooksText(hooks: ComponentSpec['hooks']): string {
  if (!hooks) return '(none)';
  return `pre_deploy ${listText(hooks.pre_deploy)}${hooks.timeout ? ` timeout=${hooks.timeout}` : ''}`;
}
