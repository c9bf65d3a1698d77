import { execFile, spawnSync } from 'node:child_process';
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import * as path from 'node:path';
import { promisify } from 'node:util';
import {
  ContainerNotFoundError,
  ImageNotFoundError,
  PortConflictError,
  RegistryUnreachableError,
  RuntimeCommandError,
  RuntimeUnavailableError,
} from '@mcp/common';
import { ABSENT_IMAGE as ABSENT, collectLogs as collect, containerRuntimeContract, freePort, RealPodmanFixture, TEST_IMAGE as IMAGE } from './testing';
import { ContainerDetails, RunOptions } from './container-runtime';
import { LibpodRestRuntime } from './libpod-rest.runtime';
import { PodmanService } from './podman.service';
import { PodmanRuntime } from './podman.runtime';

/**
 * Against real podman through a private supervised `podman system service` in a temporary
 * folder (CONTAINERS_CONF from the jest globalSetup reaches it through the environment).
 * Every container, network and volume carries this run's prefix and is removed in afterAll.
 */
jest.setTimeout(60_000);

const execFileAsync = promisify(execFile);
let sut: LibpodRestRuntime;
const podman = new RealPodmanFixture('lp', () => sut);
const { prefix: PREFIX, network: NETWORK, volume: VOLUME, work } = podman;
const service = new PodmanService({ env: process.env, socketPath: path.join(work, 'podman.sock') });

/**
 * An HTTP proxy on its own Unix socket in front of podman's: counts the requests that pass
 * and knows how many are still open, so tests can see what the adapter sends and that it
 * ends what it started.
 */
class CountingProxy {
  readonly requests: string[] = [];
  private open = 0;
  private idleWaiters: Array<() => void> = [];
  private readonly server: http.Server;

  constructor(
    readonly socketPath: string,
    target: string,
  ) {
    this.server = http.createServer((incoming, outgoing) => {
      this.requests.push(`${incoming.method} ${incoming.url}`);
      this.open++;
      outgoing.on('close', () => {
        this.open--;
        if (this.open === 0) for (const resolve of this.idleWaiters.splice(0)) resolve();
      });
      const upstream = http.request(
        { socketPath: target, method: incoming.method, path: incoming.url, headers: incoming.headers, agent: false },
        (answer) => {
          outgoing.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(outgoing);
        },
      );
      upstream.on('error', () => outgoing.destroy());
      outgoing.on('close', () => upstream.destroy());
      incoming.pipe(upstream);
    });
  }

  listen(): Promise<void> {
    return new Promise((resolve) => this.server.listen(this.socketPath, resolve));
  }

  /** Resolves when no request is open (at once if none is). */
  idle(): Promise<void> {
    return this.open === 0 ? Promise.resolve() : new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  get openRequests(): number {
    return this.open;
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

describe(LibpodRestRuntime.name, () => {
  let socketPath: string;
  const cli = new PodmanRuntime({ env: process.env, defaultStopTimeoutSeconds: 0 });
  const { run, waitForState } = podman;

  beforeAll(async () => {
    socketPath = await service.start();
    sut = new LibpodRestRuntime({ env: process.env, socketPath, defaultStopTimeoutSeconds: 0 });
    await podman.setUp();
  });

  afterAll(async () => {
    sut?.close();
    await service.stop();
    await podman.tearDown();
    console.log(`libpod REST runtime: started ${podman.started} containers through the API (prefix ${PREFIX})`);
  });

  containerRuntimeContract('libpod REST', async () => ({ sut, image: IMAGE, absentImage: ABSENT }));

  describe('parity with the CLI adapter', () => {
    it('should inspect and list a container it ran exactly as PodmanRuntime does its twin', async () => {
      const www = path.join(work, 'www');
      await execFileAsync('mkdir', ['-p', www]);
      const [restPort, cliPort] = [await freePort(), await freePort()];
      const twin = (name: string, port: number): RunOptions => ({
        name,
        image: IMAGE,
        network: NETWORK,
        user: '0:0',
        restart: 'on-failure:3',
        ports: [`127.0.0.1:${port}:8080`, `127.0.0.1::9000/udp`],
        volumes: [`${www}:/www:ro`, `${VOLUME}:/data`],
        env: ['FOO=bar', 'SPACED=a b=c'],
        cmd: ['httpd', '-f', '-p', '8080', '-h', '/www'],
        labels: { 'mcp.managed': 'true', role: 'twin' },
      });
      const restName = `${PREFIX}-twin-rest`;
      const cliName = `${PREFIX}-twin-cli`;
      await run(twin(restName, restPort));
      await cli.run(twin(cliName, cliPort));

      const [rest, viaCli] = [await sut.inspect({ name: restName }), await cli.inspect({ name: cliName })];
      const comparable = (details: ContainerDetails | null) => {
        const { id: _id, name: _name, createdAt: _c, startedAt: _s, ports: _p, portSpecs: _ps, ...rest } = details!;
        return {
          ...rest,
          // podman keeps env in a map: its order is not stable even for one container
          env: rest.env.map((entry) => (entry.startsWith('HOSTNAME=') ? 'HOSTNAME=' : entry)).sort(),
          volumes: [...rest.volumes].sort(),
        };
      };
      expect(comparable(rest)).toEqual(comparable(viaCli));
      expect(rest?.portSpecs).toEqual([
        `127.0.0.1:${restPort}:8080/tcp`,
        expect.stringMatching(/^127\.0\.0\.1:\d+:9000\/udp$/),
      ]);
      expect(viaCli?.portSpecs).toEqual([
        `127.0.0.1:${cliPort}:8080/tcp`,
        expect.stringMatching(/^127\.0\.0\.1:\d+:9000\/udp$/),
      ]);

      const listed = (await sut.list()).filter((c) => c.name === restName || c.name === cliName);
      const listedByCli = (await cli.list()).filter((c) => c.name === restName || c.name === cliName);
      // Status lines are computed at each listing ("Up 2 seconds ago"): compared by form only.
      const byName = (list: typeof listed) => Object.fromEntries(list.map((c) => [c.name, { ...c, status: undefined }]));
      expect(byName(listed)).toEqual(byName(listedByCli));
      expect(listed.map((c) => c.status)).toEqual([expect.stringMatching(/^Up .+ ago$/), expect.stringMatching(/^Up .+ ago$/)]);
    });
  });

  describe('run', () => {
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
        expect((error as PortConflictError).message).toBe(
          `podman run ${name}: cannot listen on the TCP port: listen tcp4 127.0.0.1:${port}: bind: address already in use`,
        );
        expect(await sut.inspect({ name })).toBeNull();
      } finally {
        await new Promise((resolve) => holder.close(resolve));
      }
    });

    it("should report a missing image as ImageNotFoundError with podman's message", async () => {
      const error = await sut
        .run({ name: `${PREFIX}-noimage`, image: ABSENT, ports: [], volumes: [], env: [], cmd: [], labels: {} })
        .catch((e: unknown) => e);

      expect(error).toBeInstanceOf(ImageNotFoundError);
      expect((error as ImageNotFoundError).message).toBe(`podman run ${PREFIX}-noimage: ${ABSENT}: image not known`);
    });

    it('should refuse a taken name with the API message and leave the holder alone', async () => {
      const name = `${PREFIX}-taken`;
      const id = await run({ name, cmd: ['sleep', '300'] });

      const error = await sut
        .run({ name, image: IMAGE, ports: [], volumes: [], env: [], cmd: [], labels: {} })
        .catch((e: unknown) => e);

      expect(error).toBeInstanceOf(RuntimeCommandError);
      expect((error as RuntimeCommandError).message).toContain('already in use');
      expect((await sut.inspect({ name }))?.id).toBe(id);
    });

    it('should refuse a name that would read as an option, as the CLI adapter does', async () => {
      await expect(
        sut.run({ name: '--privileged', image: IMAGE, ports: [], volumes: [], env: [], cmd: [], labels: {} }),
      ).rejects.toThrow('must not start with "-"');
    });
  });

  describe('list', () => {
    it('should make exactly one HTTP request per call', async () => {
      const proxy = new CountingProxy(path.join(work, 'count-list.sock'), socketPath);
      await proxy.listen();
      const counted = new LibpodRestRuntime({ env: process.env, socketPath: proxy.socketPath });
      try {
        await counted.list();
        const containers = await counted.list();

        expect(proxy.requests).toEqual(['GET /v4.0.0/libpod/containers/json?all=true', 'GET /v4.0.0/libpod/containers/json?all=true']);
        expect(containers.some((c) => c.name === `${PREFIX}-taken`)).toBe(true);
      } finally {
        counted.close();
        await proxy.close();
      }
    });
  });

  describe('logs', () => {
    const name = `${PREFIX}-logs`;

    beforeAll(async () => {
      await run({ name, cmd: ['sh', '-c', 'echo line1; echo line2; echo oops >&2; echo line3'] });
      await waitForState(name, ['exited']);
    });

    it('should separate stdout from stderr', async () => {
      expect(await collect(sut.logs({ name }))).toEqual({ stdout: 'line1\nline2\nline3\n', stderr: 'oops\n' });
    });

    it('should give the last lines with tail', async () => {
      expect(await collect(sut.logs({ name, tail: 2 }))).toEqual({ stdout: 'line3\n', stderr: 'oops\n' });
    });

    it('should prefix lines with timestamps when asked', async () => {
      const { stdout, stderr } = await collect(sut.logs({ name, tail: 2, timestamps: true }));

      expect(stdout).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d) line3\n$/);
      expect(stderr).toMatch(/^\d{4}-\d\d-\d\dT\S+ oops\n$/);
    });

    it('should pass since through to podman', async () => {
      expect(await collect(sut.logs({ name, since: '2099-01-01T00:00:00Z' }))).toEqual({ stdout: '', stderr: '' });
      expect((await collect(sut.logs({ name, since: '24h' }))).stdout).toBe('line1\nline2\nline3\n');
    });

    it('should follow until the container exits', async () => {
      const ending = `${PREFIX}-logs-end`;
      await run({ name: ending, cmd: ['sh', '-c', 'echo first; sleep 1; echo second >&2'] });

      expect(await collect(sut.logs({ name: ending, follow: true }))).toEqual({ stdout: 'first\n', stderr: 'second\n' });
    });

    describe('following a live container', () => {
      const live = `${PREFIX}-logs-live`;
      let proxy: CountingProxy;
      let counted: LibpodRestRuntime;

      beforeAll(async () => {
        await run({ name: live, cmd: ['sh', '-c', 'i=0; while true; do echo tick$i; i=$((i+1)); sleep 0.2; done'] });
        proxy = new CountingProxy(path.join(work, 'count-logs.sock'), socketPath);
        await proxy.listen();
        counted = new LibpodRestRuntime({ env: process.env, socketPath: proxy.socketPath });
      });

      afterAll(async () => {
        counted?.close();
        await proxy?.close();
      });

      it('should end the HTTP request when the signal aborts', async () => {
        const controller = new AbortController();
        let text = '';

        for await (const chunk of counted.logs({ name: live, follow: true, signal: controller.signal })) {
          text += chunk.data.toString('utf8');
          if (text.includes('tick2\n')) controller.abort();
        }
        await proxy.idle();

        expect(text.startsWith('tick0\ntick1\ntick2\n')).toBe(true);
        expect(proxy.openRequests).toBe(0);
        expect(proxy.requests.filter((request) => request.includes('/logs?'))).toHaveLength(1);
      });

      it('should end the HTTP request when the consumer stops iterating', async () => {
        let first = '';

        for await (const chunk of counted.logs({ name: live, follow: true, tail: 1 })) {
          first = chunk.data.toString('utf8');
          break;
        }
        await proxy.idle();

        expect(first).toMatch(/^tick\d+\n$/);
        expect(proxy.openRequests).toBe(0);
      });

      it('should end at once for an already aborted signal, without a request', async () => {
        const controller = new AbortController();
        controller.abort();
        const before = proxy.requests.length;

        expect(await collect(counted.logs({ name: live, follow: true, signal: controller.signal }))).toEqual({
          stdout: '',
          stderr: '',
        });
        expect(proxy.requests.length).toBe(before);
      });
    });

    it('should report logs of a missing container as ContainerNotFoundError', async () => {
      await expect(collect(sut.logs({ name: `${PREFIX}-never` }))).rejects.toBeInstanceOf(ContainerNotFoundError);
    });
  });

  describe('pull', () => {
    it('should treat a localhost/ image that exists as pulled', async () => {
      await expect(sut.pull({ image: IMAGE })).resolves.toBeUndefined();
    });

    it('should see at once an image the CLI adds (pulls run the CLI on the same storage)', async () => {
      const tagged = `localhost/${PREFIX}/tagged:1.0`;
      try {
        expect(await sut.imageExists({ image: tagged })).toBe(false);
        await execFileAsync('podman', ['tag', IMAGE, tagged]);

        expect(await sut.imageExists({ image: tagged })).toBe(true);
      } finally {
        await execFileAsync('podman', ['rmi', '--', tagged]).catch(() => undefined);
      }
    });

    it('should pull through the podman CLI with the auth file and TLS setting it was given', async () => {
      const callLog = path.join(work, 'podman-calls.log');
      const wrapper = path.join(work, 'podman-wrapper.sh');
      writeFileSync(wrapper, '#!/bin/sh\necho "$*" >> "$MCPTEST_PODMAN_LOG"\nexec podman "$@"\n');
      chmodSync(wrapper, 0o755);
      const authFile = path.join(work, 'auth.json');
      writeFileSync(authFile, '{"auths":{}}\n');
      const withWrapper = new LibpodRestRuntime({
        socketPath,
        podmanPath: wrapper,
        env: { ...process.env, MCPTEST_PODMAN_LOG: callLog },
      });
      try {
        const error = await withWrapper
          .pull({ image: '127.0.0.1:1/nope:1.0', authFile, tlsVerify: false })
          .catch((e: unknown) => e);

        expect(error).toBeInstanceOf(RegistryUnreachableError);
        expect((error as RegistryUnreachableError).message).toContain('connection refused');
        expect(readFileSync(callLog, 'utf8')).toBe(
          `pull --quiet --authfile ${authFile} --tls-verify=false -- 127.0.0.1:1/nope:1.0\n`,
        );
      } finally {
        withWrapper.close();
      }
    });

    it('should report a localhost/ image that is not here as ImageNotFoundError', async () => {
      await expect(sut.pull({ image: ABSENT })).rejects.toBeInstanceOf(ImageNotFoundError);
    });
  });

  describe('version', () => {
    it("should give podman's version", async () => {
      const { stdout } = await execFileAsync('podman', ['version', '--format', '{{.Client.Version}}']);

      expect(await sut.version()).toBe(stdout.trim());
    });
  });

  describe('with the socket down', () => {
    const missing = new LibpodRestRuntime({ env: process.env, socketPath: path.join(work, 'nobody-here.sock') });
    const deadSocket = path.join(work, 'dead.sock');
    const dead = new LibpodRestRuntime({ env: process.env, socketPath: deadSocket });

    beforeAll(() => {
      // A socket file nobody listens on, as a killed service leaves it (a clean close would unlink it).
      const script = "require('net').createServer().listen(process.argv[1], () => process.kill(process.pid, 'SIGKILL'))";
      spawnSync(process.execPath, ['-e', script, deadSocket]);
    });

    it.each([
      ['list', (sutDown: LibpodRestRuntime) => sutDown.list()],
      ['version', (sutDown: LibpodRestRuntime) => sutDown.version()],
      ['inspect', (sutDown: LibpodRestRuntime) => sutDown.inspect({ name: 'x' })],
      ['remove', (sutDown: LibpodRestRuntime) => sutDown.remove({ name: 'x' })],
      ['imageExists', (sutDown: LibpodRestRuntime) => sutDown.imageExists({ image: IMAGE })],
      ['logs', (sutDown: LibpodRestRuntime) => collect(sutDown.logs({ name: 'x' }))],
    ])('should fail %s with RuntimeUnavailableError for a missing socket and a refused one', async (_method, call) => {
      const [noFile, refused] = [await call(missing).catch((e: unknown) => e), await call(dead).catch((e: unknown) => e)];

      expect(noFile).toBeInstanceOf(RuntimeUnavailableError);
      expect((noFile as Error).message).toBe(
        `container runtime unavailable: podman API socket ${path.join(work, 'nobody-here.sock')}: no such socket (podman system service is not running)`,
      );
      expect(refused).toBeInstanceOf(RuntimeUnavailableError);
      expect((refused as Error).message).toBe(`container runtime unavailable: podman API socket ${deadSocket}: connection refused (podman system service is not running)`);
    });
  });

  describe('with a server that does not answer', () => {
    it('should abandon the request and report the runtime unavailable', async () => {
      const hangingSocket = path.join(work, 'hang.sock');
      const server = http.createServer(() => undefined);
      await new Promise<void>((resolve) => server.listen(hangingSocket, resolve));
      const stuck = new LibpodRestRuntime({ env: process.env, socketPath: hangingSocket, requestTimeoutMs: 300 });
      try {
        const error = await stuck.list().catch((e: unknown) => e);

        expect(error).toBeInstanceOf(RuntimeUnavailableError);
        expect((error as Error).message).toBe(
          'podman API GET /containers/json: no answer within 300 ms; the request was abandoned',
        );
      } finally {
        stuck.close();
        server.closeAllConnections();
        await new Promise((resolve) => server.close(resolve));
      }
    });
  });
});
