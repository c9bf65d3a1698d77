import { parse as parseYaml, parseAllDocuments } from 'yaml';
import type { ServiceSpec } from '@mcp/common';
import { importCompose } from './compose-import';
import { exportCompose } from './compose-export';
import { exportKube } from './kube-export';

/** Issue 20 item 6: stop_signal/stop_timeout through Compose import and export, and Kubernetes export. */
const SPEC: ServiceSpec = {
  name: 'shop',
  node: 'rift',
  active: true,
  components: [
    { name: 'web', image: 'localhost/shop:1.0', ports: [], volumes: [], cmd: [], env: [], routes: [], stop_signal: 'SIGQUIT', stop_timeout: '30s' },
  ],
};

function importText(text: string) {
  return importCompose({ text, file: '/tmp/shop/compose.yaml', node: 'rift', name: 'shop', readFile: () => undefined });
}

describe('stop_signal and stop_timeout in Compose and Kubernetes', () => {
  it('should round-trip through a Compose file (stop_signal, stop_grace_period)', () => {
    const text = exportCompose({ spec: SPEC });
    const document = parseYaml(text) as { services: Record<string, Record<string, unknown>> };

    expect(document.services.web).toMatchObject({ stop_signal: 'SIGQUIT', stop_grace_period: '30s' });
    expect(importText(text).spec).toEqual(SPEC);
  });

  it('should import Compose spellings: a signal without SIG, a grace period like 1m30s, a fraction rounded up with a note', () => {
    const { spec, notes } = importText('services:\n  web:\n    image: localhost/shop:1.0\n    stop_signal: INT\n    stop_grace_period: 1m30s\n  db:\n    image: localhost/db:1.0\n    stop_grace_period: 1500ms\n');

    expect(spec.components.find((c) => c.name === 'web')).toMatchObject({ stop_signal: 'SIGINT', stop_timeout: '90s' });
    expect(spec.components.find((c) => c.name === 'db')).toMatchObject({ stop_timeout: '2s' });
    expect(notes).toContainEqual({ path: 'services.db.stop_grace_period', message: 'rounded up to 2s (podman stops in whole seconds)' });
    expect(notes.map((note) => note.path)).not.toContain('services.web.stop_signal');
  });

  it('should refuse a signal MCP does not know, named by its Compose key', () => {
    expect(() => importText('services:\n  web:\n    image: localhost/shop:1.0\n    stop_signal: SIGFOO\n')).toThrow(/services\.web\.stop_signal: must be one of SIGTERM/);
  });

  it('should export stop_timeout as terminationGracePeriodSeconds and list stop_signal as not carried', () => {
    const text = exportKube({ spec: SPEC });
    const deployment = parseAllDocuments(text).map((doc) => doc.toJS()).find((doc) => doc.kind === 'Deployment');

    expect(deployment.spec.template.spec.terminationGracePeriodSeconds).toBe(30);
    expect(text).toContain('#   - web: stop_signal SIGQUIT (a pod spec has no stop signal');
  });
});
