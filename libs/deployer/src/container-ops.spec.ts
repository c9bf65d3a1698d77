import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { InvalidArgumentError } from '@mcp/common';
import type { ContainerRuntime } from '@mcp/runtime';
import { ContainerOps } from './container-ops';
import { DeployerOptions } from './deployer-options';

describe('ContainerOps.volumes (SPEC §15 ./ sources)', () => {
  const ops = (srvRoot?: string) =>
    new ContainerOps({} as ContainerRuntime, new DeployerOptions({ bindAddress: '127.0.0.1', routeBindAddress: '127.0.0.1', routeDomain: 'svc.test', portRangeStart: 1, portRangeEnd: 2, certDir: '/x', stopTimeoutSeconds: 1, srvRoot }));

  it("should put ./ sources under the node's <srv_root>/<service>/ and leave the others as written", () => {
    expect(ops('/data/srv').volumes({ service: 'notes', spec: { volumes: ['./:/app', './db:/var/lib/db:Z', '/etc/ssl:/ssl:ro', 'cache:/cache'] } })).toEqual([
      '/data/srv/notes:/app',
      '/data/srv/notes/db:/var/lib/db:Z',
      '/etc/ssl:/ssl:ro',
      'cache:/cache',
    ]);
    expect(ops().volumes({ service: 'notes', spec: { volumes: ['./db:/db'] } })).toEqual(['/srv/notes/db:/db']);
  });

  it('should refuse a ./ source that leaves the service directory (a spec that skipped the CLI validation)', () => {
    expect(() => ops().volumes({ service: 'notes', spec: { volumes: ['./../other:/x'] } })).toThrow(InvalidArgumentError);
    expect(() => ops().volumes({ service: 'notes', spec: { volumes: ['./a/../../notes2:/x'] } })).toThrow('volume "./a/../../notes2:/x" of service notes leaves the service\'s directory /srv/notes/');
  });

  it('should make a missing ./ source as a directory for a container about to be created, and leave absolute sources to podman', async () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'mcp-container-ops-'));
    try {
      const volumes = await ops(root).mountVolumes({ service: 'notes', spec: { volumes: ['./data/db:/db', `${root}/absent:/abs`] } });

      expect(volumes).toEqual([`${root}/notes/data/db:/db`, `${root}/absent:/abs`]);
      expect(fs.statSync(path.join(root, 'notes', 'data', 'db')).isDirectory()).toBe(true);
      expect(fs.existsSync(path.join(root, 'absent'))).toBe(false);
      await expect(ops(root).mountVolumes({ service: 'notes', spec: { volumes: ['./../other:/x'] } })).rejects.toThrow(InvalidArgumentError);
      expect(fs.existsSync(path.join(root, 'other'))).toBe(false);
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  });
});
