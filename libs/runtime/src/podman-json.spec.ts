import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { mapInspectEntry, mapPsEntry, PodmanInspectEntry, PodmanPsEntry, portSpec } from './podman-json';

/**
 * Samples recorded from podman 4.3.1 (`podman ps --all --format json`, `podman inspect --type
 * container --format json`) for five containers:
 *   a: run with --restart on-failure:3 --user 0:0 -p 127.0.0.1:18999:8080 -p 18998:8081/udp
 *      -v /tmp/rtsample/www:/www:ro -v rtsample-vol:/data -e FOO=bar -e X=1 and two labels
 *   b: created, never started (Labels and Ports null)
 *   c: --network rtsample-net --restart always, command `sh -c 'exit 3'`
 *   d: --network host, exited
 *   e: a port range 127.0.0.1:19100-19101:9100-9101
 */
function sample<T>(file: string): T {
  return JSON.parse(readFileSync(path.join(__dirname, 'testdata', file), 'utf8')) as T;
}

function inspectSample(letter: string): PodmanInspectEntry {
  return sample<PodmanInspectEntry[]>(`podman-inspect-${letter}.json`)[0];
}

describe('podman JSON mapping', () => {
  describe(mapPsEntry.name, () => {
    const entries = sample<PodmanPsEntry[]>('podman-ps.json');
    const byName = new Map(entries.map((entry) => [entry.Names?.[0], mapPsEntry(entry)]));

    it('should read a running container with labels, an array Command and ports', () => {
      expect(byName.get('rtsample-a')).toEqual({
        id: expect.stringMatching(/^[0-9a-f]{64}$/),
        name: 'rtsample-a',
        image: 'localhost/mcp-test/busybox:1.0',
        state: 'running',
        status: expect.stringMatching(/^Up /),
        command: ['httpd', '-f', '-p', '8080', '-h', '/www'],
        labels: { 'mcp.managed': 'true', 'mcp.service': 'rtsample' },
        ports: [
          { hostIp: '127.0.0.1', hostPort: 18999, containerPort: 8080, protocol: 'tcp' },
          { hostIp: '', hostPort: 18998, containerPort: 8081, protocol: 'udp' },
        ],
        createdAt: expect.any(Date),
        startedAt: expect.any(Date),
        exitCode: undefined,
      });
    });

    it('should observe a listed container in podman\'s transient "stopped" state (died, cleanup not yet run) as exited, with its exit code', () => {
      const raw = entries.find((entry) => entry.Names?.[0] === 'rtsample-a')!;

      const sut = mapPsEntry({ ...raw, State: 'stopped', Exited: false, ExitCode: 137 });

      expect(sut).toMatchObject({ state: 'exited', exitCode: 137 });
    });

    it('should map unix seconds to dates', () => {
      const raw = entries.find((entry) => entry.Names?.[0] === 'rtsample-a');
      expect(byName.get('rtsample-a')?.startedAt?.getTime()).toBe((raw?.StartedAt ?? 0) * 1000);
      expect(byName.get('rtsample-a')?.createdAt?.getTime()).toBe((raw?.Created ?? 0) * 1000);
    });

    it('should give null Labels and Ports as empty, and no start time to a never-started container', () => {
      const created = byName.get('rtsample-b');
      expect(created?.labels).toEqual({});
      expect(created?.ports).toEqual([]);
      expect(created?.state).toBe('created');
      expect(created?.startedAt).toBeUndefined();
      expect(created?.command).toEqual(['/bin/httpd', '-f', '-p', '8080', '-h', '/www']);
    });

    it('should carry the exit code of an exited container', () => {
      expect(byName.get('rtsample-d')).toMatchObject({ state: 'exited', exitCode: 0 });
    });

    it('should expand a published port range into one mapping per port', () => {
      expect(byName.get('rtsample-e')?.ports).toEqual([
        { hostIp: '127.0.0.1', hostPort: 19100, containerPort: 9100, protocol: 'tcp' },
        { hostIp: '127.0.0.1', hostPort: 19101, containerPort: 9101, protocol: 'tcp' },
      ]);
    });

    it('should accept a Command string and missing Names from other podman versions', () => {
      const mapped = mapPsEntry({ Id: 'abc', Names: null, Command: 'sleep 5', Labels: null, Ports: null });
      expect(mapped).toMatchObject({ id: 'abc', name: 'abc', command: ['sleep 5'], labels: {}, ports: [] });
    });
  });

  describe(mapInspectEntry.name, () => {
    it("should read podman 4's numeric StopSignal as a name, a named one as it is, and StopTimeout (#20 item 6)", () => {
      const entry = inspectSample('b');

      expect(mapInspectEntry(entry)).toMatchObject({ stopSignal: 'SIGTERM', stopTimeoutSeconds: 10 });
      expect(mapInspectEntry({ ...entry, Config: { ...entry.Config, StopSignal: 3, StopTimeout: 30 } })).toMatchObject({ stopSignal: 'SIGQUIT', stopTimeoutSeconds: 30 });
      expect(mapInspectEntry({ ...entry, Config: { ...entry.Config, StopSignal: 'SIGINT' } })).toMatchObject({ stopSignal: 'SIGINT' });
      expect(mapInspectEntry({ ...entry, Config: { ...entry.Config, StopSignal: 'QUIT' } })).toMatchObject({ stopSignal: 'SIGQUIT' });
    });

    it('should map everything needed to re-create the container', () => {
      const sut = mapInspectEntry(inspectSample('a'));

      expect(sut).toMatchObject({
        name: 'rtsample-a',
        image: 'localhost/mcp-test/busybox:1.0',
        state: 'running',
        cmd: ['httpd', '-f', '-p', '8080', '-h', '/www'],
        command: ['httpd', '-f', '-p', '8080', '-h', '/www'],
        labels: { 'mcp.managed': 'true', 'mcp.service': 'rtsample' },
        user: '0:0',
        restart: 'on-failure:3',
        network: undefined,
        exitCode: undefined,
      });
      expect(sut.env).toEqual(expect.arrayContaining(['FOO=bar', 'X=1']));
      expect([...sut.volumes].sort()).toEqual(['/tmp/rtsample/www:/www:ro', 'rtsample-vol:/data']);
      expect(sut.portSpecs).toEqual(['127.0.0.1:18999:8080/tcp', '18998:8081/udp']);
      expect(sut.ports).toEqual([
        { hostIp: '127.0.0.1', hostPort: 18999, containerPort: 8080, protocol: 'tcp' },
        { hostIp: '', hostPort: 18998, containerPort: 8081, protocol: 'udp' },
      ]);
      expect(sut.imageId).toMatch(/^[0-9a-f]{64}$/);
      expect(sut.startedAt?.toISOString()).toBe(new Date(inspectSample('a').State?.StartedAt ?? '').toISOString());
    });

    it('should leave out what was never set on a created container', () => {
      const sut = mapInspectEntry(inspectSample('b'));

      expect(sut).toMatchObject({
        state: 'created',
        labels: {},
        volumes: [],
        portSpecs: [],
        ports: [],
        user: undefined,
        restart: undefined,
        network: undefined,
        startedAt: undefined,
        cmd: ['/bin/httpd', '-f', '-p', '8080', '-h', '/www'],
      });
    });

    it('should read a named network, restart always and the exit code of a stopped container (podman\'s transient "stopped" observed as exited)', () => {
      const sut = mapInspectEntry(inspectSample('c'));

      expect(sut).toMatchObject({
        network: 'rtsample-net',
        restart: 'always',
        state: 'exited',
        exitCode: 3,
        cmd: ['sh', '-c', 'exit 3'],
      });
    });

    it('should read host networking', () => {
      expect(mapInspectEntry(inspectSample('d'))).toMatchObject({ network: 'host', state: 'exited', exitCode: 0 });
    });

    it('should list each port of a published range', () => {
      expect(mapInspectEntry(inspectSample('e')).portSpecs).toEqual([
        '127.0.0.1:19100:9100/tcp',
        '127.0.0.1:19101:9101/tcp',
      ]);
    });

    it('should fall back to the live port table when no bindings were requested', () => {
      const sut = mapInspectEntry({
        Id: 'x',
        Name: 'x',
        HostConfig: { PortBindings: {} },
        NetworkSettings: { Ports: { '8080/tcp': [{ HostIp: '0.0.0.0', HostPort: '40001' }], '9090/tcp': null } },
      });
      expect(sut.portSpecs).toEqual(['0.0.0.0:40001:8080/tcp']);
    });

    it('should keep non-default mount options and propagation', () => {
      const sut = mapInspectEntry({
        Id: 'x',
        Name: 'x',
        Mounts: [{ Type: 'bind', Source: '/srv/a', Destination: '/a', RW: false, Mode: 'z', Propagation: 'rshared' }],
      });
      expect(sut.volumes).toEqual(['/srv/a:/a:ro,z,rshared']);
    });
  });

  describe(portSpec.name, () => {
    it('should omit an empty host IP', () => {
      expect(portSpec({ hostIp: '', hostPort: 1, containerPort: 2, protocol: 'udp' })).toBe('1:2/udp');
    });
  });
});
