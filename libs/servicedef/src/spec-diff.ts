import type { ComponentSpec, RouteSpec } from '@mcp/common';
import { canonicalJson } from './component-hash';
import { parseImageReference } from './image-reference';

/**
 * Every field in which `after` differs from `before`, one line each, as a deploy plan shows
 * them (SPEC §8): `image: 1.0 → 2.0`, `env: +FOO ~BAR -BAZ`, `ports: +8080:80 -9090:80`,
 * `user: (none) → 0:0`, `health: (implicit) → GET /up`. Empty when nothing differs.
 */
export function specChanges(before: ComponentSpec, after: ComponentSpec): string[] {
  const changes: string[] = [];
  if (before.image !== after.image) changes.push(`image: ${imageChange(before.image, after.image)}`);
  for (const key of ['network', 'user', 'restart', 'strategy', 'drain'] as const) {
    if (before[key] !== after[key]) changes.push(`${key}: ${before[key] ?? '(none)'} → ${after[key] ?? '(none)'}`);
  }
  const env = envChange(before.env, after.env);
  if (env) changes.push(`env: ${env}`);
  for (const key of ['ports', 'volumes'] as const) {
    const change = setChange(before[key], after[key]);
    if (change) changes.push(`${key}: ${change}`);
  }
  if (canonicalJson(before.cmd) !== canonicalJson(after.cmd)) changes.push(`cmd: ${listText(before.cmd)} → ${listText(after.cmd)}`);
  const routes = setChange(before.routes.map(routeText), after.routes.map(routeText));
  if (routes) changes.push(`routes: ${routes}`);
  if (canonicalJson(before.health ?? null) !== canonicalJson(after.health ?? null)) {
    changes.push(`health: ${healthText(before)} → ${healthText(after)}`);
  }
  return changes;
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

function healthText(spec: ComponentSpec): string {
  const health = spec.health;
  if (!health) return '(implicit)';
  const kind = health.http !== undefined ? `GET ${health.http}` : health.tcp ? 'tcp' : `cmd ${listText(health.cmd ?? [])}`;
  const extra = (['route', 'port', 'interval', 'timeout', 'start_period', 'healthy'] as const)
    .filter((key) => health[key] !== undefined)
    .map((key) => `${key}=${String(health[key])}`);
  return [kind, ...extra].join(' ');
}
