import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { RuntimeUnavailableError } from '@mcp/common';
import { LibpodRestRuntime } from './libpod-rest.runtime';
import { defaultPodmanSockets, pingPodmanSocket, PodmanService } from './podman.service';

/**
 * Starts real `podman system service` processes on sockets in a temporary folder; every
 * service a test starts is stopped in afterEach, whatever happened.
 */
jest.setTimeout(60_000);

const execFileAsync = promisify(execFile);

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Resolves when the process is gone; bounded by the test timeout. */
async function waitForExit(pid: number): Promise<void> {
  while (isAlive(pid)) await new Promise((resolve) => setTimeout(resolve, 50));
}

describe(PodmanService.name, () => {
  const work = mkdtempSync(path.join(tmpdir(), 'mcptest-psvc-'));
  const services: PodmanService[] = [];

  function track(service: PodmanService): PodmanService {
    services.push(service);
    return service;
  }

  afterEach(async () => {
    for (const service of services.splice(0)) await service.stop();
  });

  afterAll(() => {
    rmSync(work, { recursive: true, force: true });
  });

  describe('start', () => {
    it('should start a supervised service on the given socket that answers /_ping', async () => {
      const socketPath = path.join(work, 'a', 'podman.sock');
      const sut = track(new PodmanService({ env: process.env, socketPath }));

      expect(await sut.start()).toBe(socketPath);

      expect(sut.supervised).toBe(true);
      expect(sut.pid).toEqual(expect.any(Number));
      expect(await pingPodmanSocket(socketPath)).toBe(true);
    });

    it('should use a socket that already answers without starting another service', async () => {
      const socketPath = path.join(work, 'b', 'podman.sock');
      const owner = track(new PodmanService({ env: process.env, socketPath }));
      await owner.start();
      const sut = track(new PodmanService({ env: process.env, socketPath, podmanPath: '/nonexistent/podman' }));

      expect(await sut.start()).toBe(socketPath);

      expect(sut.supervised).toBe(false);
      await sut.stop();
      expect(await pingPodmanSocket(socketPath)).toBe(true);
    });

    it('should try the existing sockets in order when no socketPath is given', async () => {
      const socketPath = path.join(work, 'c', 'podman.sock');
      const owner = track(new PodmanService({ env: process.env, socketPath }));
      await owner.start();
      const sut = track(
        new PodmanService({ env: process.env, existingSockets: [path.join(work, 'nothing.sock'), socketPath], startService: false }),
      );

      expect(await sut.start()).toBe(socketPath);
    });

    it('should start a private service in a new temporary folder, removed on stop', async () => {
      const sut = track(new PodmanService({ env: process.env, existingSockets: [] }));

      const socketPath = await sut.start();
      const folder = path.dirname(socketPath);

      expect(path.basename(folder)).toMatch(/^mcp-podman-/);
      expect(await pingPodmanSocket(socketPath)).toBe(true);
      await sut.stop();
      expect(existsSync(folder)).toBe(false);
    });

    it('should replace a socket file left by a dead service', async () => {
      const socketPath = path.join(work, 'd', 'podman.sock');
      const first = track(new PodmanService({ env: process.env, socketPath }));
      await first.start();
      const firstPid = first.pid!;
      process.kill(firstPid, 'SIGKILL');
      await waitForExit(firstPid);
      await first.stop();
      const sut = track(new PodmanService({ env: process.env, socketPath, restartDelayMs: 60_000 }));

      await sut.start();

      expect(sut.supervised).toBe(true);
      expect(await pingPodmanSocket(socketPath)).toBe(true);
    });

    it('should refuse with RuntimeUnavailableError when nothing answers and starting is not allowed', async () => {
      const sut = track(new PodmanService({ env: process.env, existingSockets: [path.join(work, 'none.sock')], startService: false }));

      const error = await sut.start().catch((e: unknown) => e);

      expect(error).toBeInstanceOf(RuntimeUnavailableError);
      expect((error as Error).message).toBe(
        `container runtime unavailable: no podman API socket answers (${path.join(work, 'none.sock')})`,
      );
    });

    it('should refuse with RuntimeUnavailableError when podman cannot be run', async () => {
      const sut = track(new PodmanService({ env: process.env, socketPath: path.join(work, 'e', 'podman.sock'), podmanPath: '/nonexistent/podman' }));

      const error = await sut.start().catch((e: unknown) => e);

      expect(error).toBeInstanceOf(RuntimeUnavailableError);
      expect((error as Error).message).toBe('container runtime unavailable: /nonexistent/podman: not found');
    });
  });

  describe('supervision', () => {
    it('should restart a service that dies', async () => {
      const socketPath = path.join(work, 'f', 'podman.sock');
      const sut = track(new PodmanService({ env: process.env, socketPath, restartDelayMs: 10 }));
      await sut.start();
      const firstPid = sut.pid!;

      process.kill(firstPid, 'SIGKILL');
      await waitForExit(firstPid);
      while (!(sut.restartCount === 1 && (await pingPodmanSocket(socketPath)))) {
        await new Promise((resolve) => setTimeout(resolve, 50));
      }

      expect(sut.pid).toEqual(expect.any(Number));
      expect(sut.pid).not.toBe(firstPid);
    });
  });

  describe('stop', () => {
    it('should end the service process and not restart it', async () => {
      const socketPath = path.join(work, 'g', 'podman.sock');
      const sut = track(new PodmanService({ env: process.env, socketPath, restartDelayMs: 10 }));
      await sut.start();
      const pid = sut.pid!;

      await sut.stop();

      expect(isAlive(pid)).toBe(false);
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(sut.pid).toBeUndefined();
      expect(await pingPodmanSocket(socketPath)).toBe(false);
    });

    it('should leave the containers it ran running (conmon, not the service, is their parent)', async () => {
      const sut = track(new PodmanService({ env: process.env, socketPath: path.join(work, 'i', 'podman.sock') }));
      const runtime = new LibpodRestRuntime({ env: process.env, socketPath: await sut.start() });
      const name = `mcptest-psvc-${randomBytes(3).toString('hex')}`;
      try {
        await runtime.run({
          name,
          image: 'localhost/mcp-test/busybox:1.0',
          ports: [],
          volumes: [],
          env: [],
          cmd: ['sleep', '300'],
          labels: {},
        });
        runtime.close();

        await sut.stop();

        const { stdout } = await execFileAsync('podman', ['inspect', '--format', '{{.State.Status}}', '--', name]);
        expect(stdout.trim()).toBe('running');
      } finally {
        await execFileAsync('podman', ['rm', '-f', '-t', '0', '--', name]).catch(() => undefined);
      }
    });

    it('should be called on module destroy', async () => {
      const sut = track(new PodmanService({ env: process.env, socketPath: path.join(work, 'h', 'podman.sock') }));
      await sut.start();
      const pid = sut.pid!;

      await sut.onApplicationShutdown();

      expect(isAlive(pid)).toBe(false);
    });
  });

  describe(defaultPodmanSockets.name, () => {
    it("should list the rootless user's socket, then the system one for root", () => {
      const sockets = defaultPodmanSockets({ XDG_RUNTIME_DIR: '/run/user/1000' });

      expect(sockets[0]).toBe('/run/user/1000/podman/podman.sock');
      expect(sockets.slice(1)).toEqual(process.getuid?.() === 0 ? ['/run/podman/podman.sock'] : []);
    });
  });
});
