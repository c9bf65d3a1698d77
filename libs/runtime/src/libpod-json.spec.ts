import { InvalidArgumentError } from '@mcp/common';
import {
  createSpecFor,
  humanDuration,
  mapLibpodListEntry,
  networkSpec,
  parsePortSpec,
  parseVolumeSpec,
  restartSpec,
  statusLine,
} from './libpod-json';

describe('libpod-json', () => {
  describe(parsePortSpec.name, () => {
    it.each([
      ['8080', [{ host_ip: undefined, container_port: 8080, host_port: 0, range: 1, protocol: 'tcp' }]],
      ['18080:8080', [{ host_ip: undefined, container_port: 8080, host_port: 18080, range: 1, protocol: 'tcp' }]],
      ['127.0.0.1:18080:8080', [{ host_ip: '127.0.0.1', container_port: 8080, host_port: 18080, range: 1, protocol: 'tcp' }]],
      ['127.0.0.1::8080/udp', [{ host_ip: '127.0.0.1', container_port: 8080, host_port: 0, range: 1, protocol: 'udp' }]],
      ['[::1]:18080:8080', [{ host_ip: '::1', container_port: 8080, host_port: 18080, range: 1, protocol: 'tcp' }]],
      ['9000-9001:80-81', [{ host_ip: undefined, container_port: 80, host_port: 9000, range: 2, protocol: 'tcp' }]],
      [
        '53:53/tcp,udp',
        [
          { host_ip: undefined, container_port: 53, host_port: 53, range: 1, protocol: 'tcp' },
          { host_ip: undefined, container_port: 53, host_port: 53, range: 1, protocol: 'udp' },
        ],
      ],
    ])('should parse %s as podman run -p does', (spec, expected) => {
      expect(parsePortSpec(spec)).toEqual(expected);
    });

    it.each(['', 'http', '1:2:3:4', '70000', '9000-9002:80-81', '80/icmp', '[::1:80:80'])(
      'should refuse %p with InvalidArgumentError',
      (spec) => {
        expect(() => parsePortSpec(spec)).toThrow(InvalidArgumentError);
      },
    );
  });

  describe(parseVolumeSpec.name, () => {
    it('should make a host path a bind mount with its options', () => {
      expect(parseVolumeSpec('/srv/www:/www:ro,z')).toEqual({
        Type: 'bind',
        Source: '/srv/www',
        Destination: '/www',
        Options: ['ro', 'z'],
      });
    });

    it('should make any other source a named volume', () => {
      expect(parseVolumeSpec('data:/data')).toEqual({ Name: 'data', Dest: '/data', Options: undefined });
    });

    it('should make a lone destination an anonymous volume', () => {
      expect(parseVolumeSpec('/cache')).toEqual({ Name: '', Dest: '/cache' });
    });

    it('should refuse empty parts', () => {
      expect(() => parseVolumeSpec('/a::ro')).toThrow(InvalidArgumentError);
    });
  });

  describe(networkSpec.name, () => {
    it.each([
      ['host', { netns: { nsmode: 'host' } }],
      ['none', { netns: { nsmode: 'none' } }],
      ['container:abc', { netns: { nsmode: 'from_container', value: 'abc' } }],
      ['mynet', { netns: { nsmode: 'bridge' }, Networks: { mynet: {} } }],
      ['a,b', { netns: { nsmode: 'bridge' }, Networks: { a: {}, b: {} } }],
    ])('should map --network %s', (network, expected) => {
      expect(networkSpec(network)).toEqual(expected);
    });
  });

  describe(restartSpec.name, () => {
    it('should split on-failure:N into policy and tries', () => {
      expect(restartSpec('on-failure:3')).toEqual({ restart_policy: 'on-failure', restart_tries: 3 });
      expect(restartSpec('always')).toEqual({ restart_policy: 'always' });
    });

    it('should refuse a count on other policies and non-numeric counts', () => {
      expect(() => restartSpec('always:3')).toThrow(InvalidArgumentError);
      expect(() => restartSpec('on-failure:x')).toThrow(InvalidArgumentError);
    });
  });

  describe(createSpecFor.name, () => {
    it('should give the stop signal as its number and the stop timeout in seconds, as podman run --stop-signal/--stop-timeout do (#20 item 6)', () => {
      const base = { name: 'web', image: 'localhost/app:1', ports: [], volumes: [], env: [], cmd: [], labels: {} };

      expect(createSpecFor({ ...base, stopSignal: 'SIGQUIT', stopTimeoutSeconds: 30 })).toMatchObject({ stop_signal: 3, stop_timeout: 30 });
      expect(createSpecFor({ ...base, stopSignal: 'SIGINT', stopTimeoutSeconds: 0 })).toMatchObject({ stop_signal: 2, stop_timeout: 0 });
      expect(createSpecFor(base)).not.toHaveProperty('stop_signal');
      expect(createSpecFor(base)).not.toHaveProperty('stop_timeout');
      expect(() => createSpecFor({ ...base, stopSignal: 'SIGFOO' })).toThrow('unknown stop signal "SIGFOO"');
    });

    it('should carry every run option into the spec', () => {
      const spec = createSpecFor(
        {
          name: 'web',
          image: 'localhost/app:1',
          network: 'mynet',
          user: '1000:1000',
          restart: 'on-failure:2',
          ports: ['127.0.0.1:18080:8080'],
          volumes: ['/srv:/srv:ro', 'data:/data'],
          env: ['A=1', 'B=x=y', 'FROM_HOST', 'UNSET'],
          cmd: ['sleep', '1'],
          labels: { 'mcp.managed': 'true' },
        },
        { FROM_HOST: 'h' },
      );

      expect(spec).toEqual({
        name: 'web',
        image: 'localhost/app:1',
        command: ['sleep', '1'],
        env: { A: '1', B: 'x=y', FROM_HOST: 'h' },
        labels: { 'mcp.managed': 'true' },
        user: '1000:1000',
        restart_policy: 'on-failure',
        restart_tries: 2,
        portmappings: [{ host_ip: '127.0.0.1', container_port: 8080, host_port: 18080, range: 1, protocol: 'tcp' }],
        mounts: [{ Type: 'bind', Source: '/srv', Destination: '/srv', Options: ['ro'] }],
        volumes: [{ Name: 'data', Dest: '/data', Options: undefined }],
        netns: { nsmode: 'bridge' },
        Networks: { mynet: {} },
      });
    });

    it("should leave out what was not given, so the image's command and podman's defaults apply", () => {
      expect(
        createSpecFor({ name: 'a', image: 'i', ports: [], volumes: [], env: [], cmd: [], labels: {} }),
      ).toEqual({ name: 'a', image: 'i' });
    });

    it('should refuse an env entry without a name', () => {
      expect(() =>
        createSpecFor({ name: 'a', image: 'i', ports: [], volumes: [], env: ['=x'], cmd: [], labels: {} }),
      ).toThrow(InvalidArgumentError);
    });
  });

  describe(humanDuration.name, () => {
    it.each([
      [500, 'Less than a second'],
      [1000, '1 second'],
      [45_000, '45 seconds'],
      [90_000, 'About a minute'],
      [5 * 60_000, '5 minutes'],
      [3_600_000, 'About an hour'],
      [5 * 3_600_000, '5 hours'],
      [3 * 86_400_000, '3 days'],
      [21 * 86_400_000, '3 weeks'],
      [90 * 86_400_000, '3 months'],
      [800 * 86_400_000, '2 years'],
    ])('should write %d ms as %p', (ms, text) => {
      expect(humanDuration(ms)).toBe(text);
    });
  });

  describe(statusLine.name, () => {
    const now = new Date('2026-11-23T12:00:00Z');
    const unix = (iso: string) => Date.parse(iso) / 1000;

    it('should write the lines podman ps writes', () => {
      expect(statusLine({ State: 'running', StartedAt: unix('2026-11-23T11:55:00Z') }, now)).toBe('Up 5 minutes ago');
      expect(
        statusLine({ State: 'exited', ExitCode: 137, ExitedAt: unix('2026-11-23T11:59:58Z') }, now),
      ).toBe('Exited (137) 2 seconds ago');
      expect(statusLine({ State: 'created' }, now)).toBe('Created');
      expect(statusLine({ State: 'paused' }, now)).toBe('paused');
    });
  });

  describe(mapLibpodListEntry.name, () => {
    it('should map a REST entry as mapPsEntry maps the CLI one, with RFC 3339 Created and a status line', () => {
      const now = new Date('2026-11-23T23:21:00Z');

      const summary = mapLibpodListEntry(
        {
          Id: 'abc',
          Names: ['web'],
          Image: 'localhost/mcp-test/busybox:1.0',
          State: 'exited',
          Status: '',
          Command: ['sleep', '300'],
          Labels: { 'mcp.managed': 'true' },
          Ports: [{ host_ip: '127.0.0.1', container_port: 8080, host_port: 28080, range: 1, protocol: 'tcp' }],
          Created: '2026-11-23T23:20:41.434491224Z',
          StartedAt: 1795476042,
          ExitedAt: 1795476049,
          Exited: true,
          ExitCode: 137,
        },
        now,
      );

      expect(summary).toEqual({
        id: 'abc',
        name: 'web',
        image: 'localhost/mcp-test/busybox:1.0',
        state: 'exited',
        status: 'Exited (137) 11 seconds ago',
        command: ['sleep', '300'],
        labels: { 'mcp.managed': 'true' },
        ports: [{ hostIp: '127.0.0.1', hostPort: 28080, containerPort: 8080, protocol: 'tcp' }],
        createdAt: new Date('2026-11-23T23:20:41.000Z'),
        startedAt: new Date(1795476042 * 1000),
        exitCode: 137,
      });
    });
  });
});
