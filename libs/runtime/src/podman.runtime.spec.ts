import { ChildProcess, execFile, execFileSync, spawn } from 'node:child_process';
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import * as path from 'node:path';
import { promisify } from 'node:util';
import {
  ContainerNotFoundError,
  ImageNotFoundError,
  PortConflictError,
  RegistryAuthError,
  RegistryUnreachableError,
  RuntimeCommandError,
  RuntimeUnavailableError,
} from '@mcp/common';
import { containerNameFor, splitContainerName } from './container-name';
import { LABEL_COMPONENT, LABEL_MANAGED, LABEL_SERVICE } from './container-runtime';
import { PodmanRuntime } from './podman.runtime';
import { collectLogs as collect, freePort, pause, RealPodmanFixture, TEST_IMAGE as IMAGE } from './testing';

/**
 * Against real podman (CONTAINERS_CONF from the jest globalSetup). Every container, network
 * and volume is named with this run's prefix and removed in afterAll, whatever happened.
 * Containers run `sleep` or `httpd` as PID 1, which ignores SIGTERM: stop timeouts stay short.
 */
jest.setTimeout(60_000);

const execFileAsync = promisify(execFile);
const READY_DEADLINE_MS = 15_000;
const sut = new PodmanRuntime({ env: process.env, defaultStopTimeoutSeconds: 1 });
const podman = new RealPodmanFixture('rt', () => sut, READY_DEADLINE_MS);
const { prefix: PREFIX, network: NETWORK, volume: VOLUME, work } = podman;

function httpGet(url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const request = http.get(url, { agent: false, timeout: 2000 }, (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (body += chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
      response.on('error', reject);
    });
    request.on('timeout', () => request.destroy(new Error('timeout')));
    request.on('error', reject);
  });
}


/** Readiness: waits until the server answers at all; the caller asserts on the answer. */
async function waitForHttp(url: string): Promise<{ status: number; body: string }> {
  const deadline = Date.now() + READY_DEADLINE_MS;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      return await httpGet(url);
    } catch (error) {
      lastError = error;
      await pause(150);
    }
  }
  throw new Error(`${url} not answering after ${READY_DEADLINE_MS} ms: ${String(lastError)}`);
}

async function waitForTcp(port: number): Promise<void> {
  const deadline = Date.now() + READY_DEADLINE_MS;
  while (Date.now() < deadline) {
    const connected = await new Promise<boolean>((resolve) => {
      const socket = net.connect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (connected) return;
    await pause(100);
  }
  throw new Error(`127.0.0.1:${port} not listening after ${READY_DEADLINE_MS} ms`);
}

function podmanProcessesFollowing(name: string): string[] {
  return execFileSync('ps', ['-eo', 'args'], { encoding: 'utf8' })
    .split('\n')
    .filter((line) => line.includes(' logs ') && line.endsWith(` -- ${name}`));
}

describe(PodmanRuntime.name, () => {
  const www = path.join(work, 'www');
  const callLog = path.join(work, 'podman-calls.log');
  const { run, waitForState } = podman;
  const pulledImages: string[] = [];
  let registry: ChildProcess | undefined;

  beforeAll(async () => {
    execFileSync('mkdir', ['-p', www]);
    writeFileSync(path.join(www, 'index.html'), `hello from ${PREFIX}\n`);
    await podman.setUp();
  });

  afterAll(async () => {
    for (const image of pulledImages) await execFileAsync('podman', ['rmi', '-f', image]).catch(() => undefined);
    if (registry?.pid !== undefined && registry.exitCode === null) registry.kill('SIGTERM');
    await podman.tearDown();
    console.log(`runtime e2e: started ${podman.started} containers with real podman (prefix ${PREFIX})`);
  });

  describe('run', () => {
    it('should publish a port, mount a volume and serve the page through it over HTTP', async () => {
      const port = await freePort();
      const service = `${PREFIX}-mc-proxy`;

      const id = await run({
        name: containerNameFor(service, service),
        ports: [`127.0.0.1:${port}:8080`],
        volumes: [`${www}:/www:ro`],
        labels: { [LABEL_MANAGED]: 'true', [LABEL_SERVICE]: service, [LABEL_COMPONENT]: service },
      });

      expect(id).toMatch(/^[0-9a-f]{64}$/);
      const response = await waitForHttp(`http://127.0.0.1:${port}/index.html`);
      expect(response).toEqual({ status: 200, body: `hello from ${PREFIX}\n` });
    });

    it('should refuse a host port another process holds with PortConflictError and leave no container behind', async () => {
      const port = await freePort();
      const holder = net.createServer();
      await new Promise<void>((resolve) => holder.listen(port, '127.0.0.1', resolve));
      const name = `${PREFIX}-conflict`;
      try {
        const error = await sut
          .run({ name, image: IMAGE, ports: [`127.0.0.1:${port}:8080`], volumes: [], env: [], cmd: [], labels: {} })
          .catch((e: unknown) => e);

        expect(error).toBeInstanceOf(PortConflictError);
        expect((error as PortConflictError).message).toContain('address already in use');
        expect((error as PortConflictError).details.stderr).toContain(`127.0.0.1:${port}`);
        expect(await sut.inspect({ name })).toBeNull();
      } finally {
        await new Promise((resolve) => holder.close(resolve));
      }
    });

    it('should report a local image that does not exist as ImageNotFoundError without pulling', async () => {
      const error = await sut
        .run({
          name: `${PREFIX}-noimage`,
          image: 'localhost/mcp-test/absent:1.0',
          ports: [],
          volumes: [],
          env: [],
          cmd: [],
          labels: {},
        })
        .catch((e: unknown) => e);

      expect(error).toBeInstanceOf(ImageNotFoundError);
      expect((error as ImageNotFoundError).message).toContain('localhost/mcp-test/absent:1.0: image not known');
    });

    it('should refuse a taken name and leave the container that holds it alone', async () => {
      const name = `${PREFIX}-taken`;
      await run({ name, cmd: ['sleep', '300'] });

      const error = await sut
        .run({ name, image: IMAGE, ports: [], volumes: [], env: [], cmd: [], labels: {} })
        .catch((e: unknown) => e);

      expect(error).toBeInstanceOf(RuntimeCommandError);
      expect((error as RuntimeCommandError).message).toContain('already in use');
      expect((await sut.inspect({ name }))?.state).toBe('running');
    });

    it('should refuse an image that would be read as an option', async () => {
      await expect(
        sut.run({ name: `${PREFIX}-x`, image: '--privileged', ports: [], volumes: [], env: [], cmd: [], labels: {} }),
      ).rejects.toThrow('must not start with "-"');
    });
  });

  describe('list', () => {
    it('should list every container in one podman call, split by known services', async () => {
      const known = [`${PREFIX}-mc`, `${PREFIX}-mc-proxy`];
      await run({
        name: containerNameFor(`${PREFIX}-mc-proxy`, 'admin'),
        cmd: ['sleep', '300'],
        labels: { role: 'admin' },
      });
      await run({ name: containerNameFor(`${PREFIX}-mc`, 'web'), cmd: ['sleep', '300'] });
      const wrapper = path.join(work, 'podman-wrapper.sh');
      writeFileSync(wrapper, '#!/bin/sh\necho "$*" >> "$MCPTEST_PODMAN_LOG"\nexec podman "$@"\n');
      chmodSync(wrapper, 0o755);
      const counted = new PodmanRuntime({ podmanPath: wrapper, env: { ...process.env, MCPTEST_PODMAN_LOG: callLog } });

      const containers = await counted.list();

      expect(readFileSync(callLog, 'utf8')).toBe('ps --all --format json\n');
      const ours = new Map(containers.filter((c) => c.name.startsWith(PREFIX)).map((c) => [c.name, c]));
      const proxy = ours.get(`${PREFIX}-mc-proxy`);
      const admin = ours.get(`${PREFIX}-mc-proxy-admin`);
      const web = ours.get(`${PREFIX}-mc-web`);
      expect(splitContainerName(proxy?.name ?? '', known)).toEqual({
        service: `${PREFIX}-mc-proxy`,
        component: `${PREFIX}-mc-proxy`,
      });
      expect(splitContainerName(admin?.name ?? '', known)).toEqual({
        service: `${PREFIX}-mc-proxy`,
        component: 'admin',
      });
      expect(splitContainerName(web?.name ?? '', known)).toEqual({ service: `${PREFIX}-mc`, component: 'web' });
      expect(proxy).toMatchObject({
        image: IMAGE,
        state: 'running',
        command: ['/bin/httpd', '-f', '-p', '8080', '-h', '/www'],
        labels: { [LABEL_MANAGED]: 'true', [LABEL_SERVICE]: `${PREFIX}-mc-proxy` },
        ports: [{ hostIp: '127.0.0.1', hostPort: expect.any(Number), containerPort: 8080, protocol: 'tcp' }],
      });
      expect(proxy?.startedAt).toBeInstanceOf(Date);
      expect(admin).toMatchObject({
        state: 'running',
        command: ['sleep', '300'],
        labels: { role: 'admin' },
        ports: [],
      });
      expect(web?.labels).toEqual({});
    });
  });

  describe('inspect', () => {
    it('should round-trip env, cmd, volumes, ports, labels, restart, user and network', async () => {
      const [tcpPort, udpPort] = [await freePort(), await freePort()];
      const name = `${PREFIX}-full`;
      const labels = { [LABEL_MANAGED]: 'true', [LABEL_SERVICE]: `${PREFIX}-full`, 'mcp.spec-hash': 'abc123' };
      const id = await run({
        name,
        network: NETWORK,
        user: '0:0',
        restart: 'on-failure:3',
        ports: [`127.0.0.1:${tcpPort}:8080`, `127.0.0.1:${udpPort}:9000/udp`],
        volumes: [`${www}:/www:ro`, `${VOLUME}:/data`],
        env: ['FOO=bar', 'SPACED=a b=c'],
        cmd: ['httpd', '-f', '-p', '8080', '-h', '/www'],
        labels,
      });

      const details = await sut.inspect({ name });

      expect(details).toMatchObject({
        id,
        name,
        image: IMAGE,
        state: 'running',
        cmd: ['httpd', '-f', '-p', '8080', '-h', '/www'],
        command: ['httpd', '-f', '-p', '8080', '-h', '/www'],
        user: '0:0',
        restart: 'on-failure:3',
        network: NETWORK,
        portSpecs: [`127.0.0.1:${tcpPort}:8080/tcp`, `127.0.0.1:${udpPort}:9000/udp`],
        labels,
        exitCode: undefined,
      });
      expect(details?.env).toEqual(expect.arrayContaining(['FOO=bar', 'SPACED=a b=c']));
      expect([...(details?.volumes ?? [])].sort()).toEqual([`${VOLUME}:/data`, `${www}:/www:ro`].sort());
      expect(details?.startedAt).toBeInstanceOf(Date);
      expect(details?.imageId).toMatch(/^[0-9a-f]{64}$/);
    });

    it('should give null for a container that does not exist', async () => {
      expect(await sut.inspect({ name: `${PREFIX}-never` })).toBeNull();
    });
  });

  describe('stop, start, restart and remove', () => {
    const name = `${PREFIX}-life`;

    beforeAll(async () => {
      await run({ name, cmd: ['sleep', '300'] });
    });

    it('should stop a running container', async () => {
      await sut.stop({ name, timeoutSeconds: 0 });

      const details = await sut.inspect({ name });
      expect(details?.state).toBe('exited');
      expect(details?.exitCode).toEqual(expect.any(Number));
    });

    it('should start a stopped container', async () => {
      await sut.start({ name });

      expect((await sut.inspect({ name }))?.state).toBe('running');
    });

    it('should restart a running container with a new start time', async () => {
      const before = await sut.inspect({ name });

      await sut.restart({ name, timeoutSeconds: 0 });

      const after = await sut.inspect({ name });
      expect(after?.state).toBe('running');
      expect(after?.startedAt?.getTime()).toBeGreaterThan(before?.startedAt?.getTime() ?? Infinity);
    });

    it('should remove a running container using the default stop timeout', async () => {
      await sut.remove({ name });

      expect(await sut.inspect({ name })).toBeNull();
    });

    it('should accept removing a container that does not exist', async () => {
      await expect(sut.remove({ name: `${PREFIX}-never` })).resolves.toBeUndefined();
    });

    it.each(['stop', 'start', 'restart'] as const)(
      'should %s a missing container with ContainerNotFoundError',
      async (method) => {
        const error = await sut[method]({ name: `${PREFIX}-never` }).catch((e: unknown) => e);

        expect(error).toBeInstanceOf(ContainerNotFoundError);
        expect((error as ContainerNotFoundError).container).toBe(`${PREFIX}-never`);
      },
    );
  });

  describe('pull and imageExists', () => {
    let host = '';
    let authFile = '';
    let pushed = '';

    beforeAll(async () => {
      const port = await freePort();
      host = `127.0.0.1:${port}`;
      const htpasswd = path.join(work, 'htpasswd');
      writeFileSync(htpasswd, execFileSync('htpasswd', ['-Bbn', 'mcp', 'secret-pass'], { encoding: 'utf8' }));
      const config = path.join(work, 'registry.yml');
      writeFileSync(
        config,
        [
          'version: 0.1',
          'storage:',
          '  filesystem:',
          `    rootdirectory: ${path.join(work, 'registry')}`,
          'http:',
          `  addr: ${host}`,
          'auth:',
          '  htpasswd:',
          '    realm: mcptest',
          `    path: ${htpasswd}`,
          '',
        ].join('\n'),
      );
      registry = spawn('docker-registry', ['serve', config], { stdio: 'ignore' });
      await waitForTcp(port);
      authFile = path.join(work, 'auth.json');
      const auth = Buffer.from('mcp:secret-pass').toString('base64');
      writeFileSync(authFile, JSON.stringify({ auths: { [host]: { auth } } }), { mode: 0o600 });
      pushed = `${host}/${PREFIX}/busybox:1.0`;
      pulledImages.push(pushed);
      await execFileAsync('podman', ['push', '--quiet', '--authfile', authFile, '--tls-verify=false', IMAGE, pushed]);
    });

    it('should say whether an image exists locally', async () => {
      expect(await sut.imageExists({ image: IMAGE })).toBe(true);
      expect(await sut.imageExists({ image: 'localhost/mcp-test/absent:1.0' })).toBe(false);
    });

    it('should pull with an auth file from a registry without TLS', async () => {
      expect(await sut.imageExists({ image: pushed })).toBe(false);

      await sut.pull({ image: pushed, authFile, tlsVerify: false });

      expect(await sut.imageExists({ image: pushed })).toBe(true);
    });

    it("should report a pull without credentials as RegistryAuthError with podman's message", async () => {
      const error = await sut.pull({ image: pushed, tlsVerify: false }).catch((e: unknown) => e);

      expect(error).toBeInstanceOf(RegistryAuthError);
      expect((error as RegistryAuthError).message).toContain('unauthorized: authentication required');
      expect((error as RegistryAuthError).message).toContain(host);
    });

    it("should report a pull of a missing image as ImageNotFoundError with podman's message", async () => {
      const error = await sut
        .pull({ image: `${host}/${PREFIX}/absent:1.0`, authFile, tlsVerify: false })
        .catch((e: unknown) => e);

      expect(error).toBeInstanceOf(ImageNotFoundError);
      expect((error as ImageNotFoundError).message).toContain('manifest unknown');
    });

    it('should report TLS verification against a plain-HTTP registry as RegistryUnreachableError', async () => {
      const error = await sut.pull({ image: pushed, authFile }).catch((e: unknown) => e);

      expect(error).toBeInstanceOf(RegistryUnreachableError);
      expect((error as RegistryUnreachableError).message).toContain('server gave HTTP response to HTTPS client');
    });

    it('should treat a pull of a localhost/ image that exists locally as done', async () => {
      await expect(sut.pull({ image: IMAGE })).resolves.toBeUndefined();
    });

    it('should report a pull of a localhost/ image that is not here as ImageNotFoundError', async () => {
      const error = await sut.pull({ image: 'localhost/mcp-test/absent:1.0' }).catch((e: unknown) => e);

      expect(error).toBeInstanceOf(ImageNotFoundError);
      expect((error as ImageNotFoundError).message).toContain('localhost/mcp-test/absent:1.0');
      expect((error as ImageNotFoundError).details.stderr).toContain('connection refused');
    });

    it('should report a registry nobody listens on as RegistryUnreachableError', async () => {
      const error = await sut.pull({ image: '127.0.0.1:1/nope:1.0', tlsVerify: false }).catch((e: unknown) => e);

      expect(error).toBeInstanceOf(RegistryUnreachableError);
      expect((error as RegistryUnreachableError).message).toContain('connection refused');
      expect((error as RegistryUnreachableError).details.args).toEqual([
        'pull',
        '--quiet',
        '--tls-verify=false',
        '--',
        '127.0.0.1:1/nope:1.0',
      ]);
    });
  });

  describe('logs', () => {
    it('should give the last lines of each stream with --tail', async () => {
      const name = `${PREFIX}-logs-tail`;
      await run({ name, cmd: ['sh', '-c', 'echo line1; echo line2; echo line3; echo oops >&2'] });
      await waitForState(name, ['exited']);

      const output = await collect(sut.logs({ name, tail: 2 }));

      expect(output).toEqual({ stdout: 'line3\n', stderr: 'oops\n' });
    });

    it('should prefix lines with timestamps when asked', async () => {
      const name = `${PREFIX}-logs-tail`;

      const { stdout, stderr } = await collect(sut.logs({ name, tail: 2, timestamps: true }));

      expect(stdout).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z line3\n$/);
      expect(stderr).toMatch(/^\d{4}-\d\d-\d\dT\S+ oops\n$/);
    });

    it('should pass --since through to podman', async () => {
      const name = `${PREFIX}-logs-tail`;

      expect(await collect(sut.logs({ name, since: '2099-01-01T00:00:00Z' }))).toEqual({ stdout: '', stderr: '' });
      expect((await collect(sut.logs({ name, since: '24h' }))).stdout).toBe('line1\nline2\nline3\n');
    });

    it('should follow until the container exits', async () => {
      const name = `${PREFIX}-logs-end`;
      await run({ name, cmd: ['sh', '-c', 'echo first; sleep 1; echo second'] });

      const { stdout } = await collect(sut.logs({ name, follow: true }));

      expect(stdout).toBe('first\nsecond\n');
    });

    it('should follow live output until the signal aborts, then leave no podman process behind', async () => {
      const name = `${PREFIX}-logs-follow`;
      await run({ name, cmd: ['sh', '-c', 'i=0; while true; do echo tick$i; i=$((i+1)); sleep 0.2; done'] });
      const controller = new AbortController();
      let text = '';

      for await (const chunk of sut.logs({ name, follow: true, signal: controller.signal })) {
        text += chunk.data.toString('utf8');
        if (text.includes('tick2\n')) controller.abort();
      }

      expect(text.startsWith('tick0\ntick1\ntick2\n')).toBe(true);
      expect(podmanProcessesFollowing(name)).toEqual([]);
    });

    it('should end the podman process when the consumer stops iterating', async () => {
      const name = `${PREFIX}-logs-follow`;
      let first = '';

      for await (const chunk of sut.logs({ name, follow: true, tail: 1 })) {
        first = chunk.data.toString('utf8');
        break;
      }

      expect(first).toMatch(/^tick\d+\n/);
      expect(podmanProcessesFollowing(name)).toEqual([]);
    });

    it('should end at once for an already aborted signal', async () => {
      const controller = new AbortController();
      controller.abort();

      expect(
        await collect(sut.logs({ name: `${PREFIX}-logs-follow`, follow: true, signal: controller.signal })),
      ).toEqual({
        stdout: '',
        stderr: '',
      });
    });

    it('should report logs of a missing container as ContainerNotFoundError', async () => {
      await expect(collect(sut.logs({ name: `${PREFIX}-never` }))).rejects.toBeInstanceOf(ContainerNotFoundError);
    });
  });

  describe('version', () => {
    it("should give podman's version", async () => {
      expect(await sut.version()).toMatch(/^\d+\.\d+\.\d+/);
    });
  });

  describe('with a podman that hangs', () => {
    it('should kill the command and report the runtime unavailable', async () => {
      const hanging = path.join(work, 'podman-hangs.sh');
      writeFileSync(hanging, '#!/bin/sh\nexec sleep 30\n');
      chmodSync(hanging, 0o755);
      const stuck = new PodmanRuntime({ env: process.env, podmanPath: hanging, commandTimeoutMs: 300 });

      const error = await stuck.list().catch((e: unknown) => e);

      expect(error).toBeInstanceOf(RuntimeUnavailableError);
      expect((error as RuntimeUnavailableError).message).toBe(
        'podman ps --all: no answer within 300 ms; the command was killed',
      );
    });
  });

  describe('without a podman binary', () => {
    const missing = new PodmanRuntime({ env: process.env, podmanPath: '/nonexistent/podman' });

    it.each([
      ['list', () => missing.list()],
      ['version', () => missing.version()],
      ['inspect', () => missing.inspect({ name: 'x' })],
      ['remove', () => missing.remove({ name: 'x' })],
      ['imageExists', () => missing.imageExists({ image: IMAGE })],
      ['logs', () => collect(missing.logs({ name: 'x' }))],
    ])('should fail %s with RuntimeUnavailableError', async (_method, call) => {
      const error = await call().catch((e: unknown) => e);

      expect(error).toBeInstanceOf(RuntimeUnavailableError);
      expect((error as RuntimeUnavailableError).message).toBe(
        'container runtime unavailable: /nonexistent/podman: not found',
      );
    });
  });
});
