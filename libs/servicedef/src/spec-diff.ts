import type { ComponentSpec } from '@mcp/common';
import { fieldDef, planKeys } from './component-fields';

export { envChange } from './component-fields';

/**
 * Every field in which `after` differs from `before`, one line each, as a deploy plan shows
 * them (SPEC §8): `image: 1.0 → 2.0`, `env: +FOO ~BAR -BAZ`, `ports: +8080:80 -9090:80`,
 * `user: (none) → 0:0`, `health: (implicit) → GET /up`, `memory: 256m → 512m`. Empty when
 * nothing differs. Each field's text is its `diff` in COMPONENT_FIELDS (tsc rejects a field
 * without an entry, so a new field cannot be left out of `deploy --dry-run`).
 */
export function specChanges(before: ComponentSpec, after: ComponentSpec): string[] {
  const changes: string[] = [];
  for (const key of planKeys()) {
    const text = fieldDef(key).diff?.(before[key], after[key]);
    if (text) changes.push(`${key}: ${text}`);
  }
  return changes;
}
