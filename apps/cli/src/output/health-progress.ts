/** A component as GetServiceStatus reports it, the fields the deploy's progress line reads. */
export interface HealthProgressInput {
  component: string;
  health?: string;
  healthDetail?: string;
}

/**
 * The deploy's progress line while components wait on their health gate (#20):
 * `web: waiting for health (tcp 127.0.0.1:21252) 12s/60s`, one entry per waiting component
 * (only `only` when the deploy names one), joined by `; `. Undefined when none waits.
 */
export function healthProgressLine(components: HealthProgressInput[], only?: string): string | undefined {
  const waiting = components.filter(
    (c) => (!only || c.component === only) && c.health === 'starting' && (c.healthDetail ?? '').startsWith('waiting for health'),
  );
  if (waiting.length === 0) return undefined;
  return waiting.map((c) => `${c.component}: ${c.healthDetail}`).join('; ');
}
