import type { ServiceSpec } from '@mcp/common';
import { exportCompose, exportKube } from './index';

/** SPEC §12: a pre_deploy hook has no equivalent in either format, so both list it as not carried. */
const SPEC: ServiceSpec = {
  name: 'shop',
  node: 'rift',
  active: true,
  components: [{ name: 'web', image: 'localhost/shop:1.0', ports: [], volumes: [], cmd: [], env: [], routes: [], hooks: { pre_deploy: ['bin/rails', 'db:migrate'] } }],
};

describe('export of a pre_deploy hook', () => {
  it('should list it as not carried in kube YAML (an initContainer is not the same)', () => {
    const text = exportKube({ spec: SPEC });
    expect(text).toContain('#   - web: pre_deploy hook ["bin/rails","db:migrate"] (an initContainer would run it at every pod start');
    expect(text).not.toContain('initContainers');
  });

  it('should list it as not carried in a Compose file', () => {
    expect(exportCompose({ spec: SPEC })).toContain('#   - web: pre_deploy hook ["bin/rails","db:migrate"] (run it with podman-compose run before up)');
  });
});
