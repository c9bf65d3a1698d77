import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { Test } from '@nestjs/testing';
import { RuntimeUnavailableError } from '@mcp/common';
import { ContainerRuntime } from './container-runtime';
import { LibpodRestRuntime } from './libpod-rest.runtime';
import { pingPodmanSocket, PodmanService } from './podman.service';
import { PodmanRuntime } from './podman.runtime';
import { RuntimeModule } from './runtime.module';

jest.setTimeout(60_000);

describe(RuntimeModule.name, () => {
  const work = mkdtempSync(path.join(tmpdir(), 'mcptest-rtmod-'));

  afterAll(() => {
    rmSync(work, { recursive: true, force: true });
  });

  describe('forRoot', () => {
    it('should bind ContainerRuntime to PodmanRuntime with the given options', async () => {
      const moduleRef = await Test.createTestingModule({
        imports: [RuntimeModule.forRoot({ env: process.env, podmanPath: '/nonexistent/podman' })],
      }).compile();

      const sut = moduleRef.get(ContainerRuntime);

      expect(sut).toBeInstanceOf(PodmanRuntime);
      const error = await sut.version().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(RuntimeUnavailableError);
      expect((error as RuntimeUnavailableError).message).toBe(
        'container runtime unavailable: /nonexistent/podman: not found',
      );
    });

    it('should not expose the adapter class as a provider', async () => {
      const moduleRef = await Test.createTestingModule({ imports: [RuntimeModule.forRoot({ env: process.env })] }).compile();

      expect(() => moduleRef.get(PodmanRuntime, { strict: false })).toThrow();
    });
  });

  describe('forRoot with an adapter', () => {
    const external = new PodmanService({ env: process.env, socketPath: path.join(work, 'external', 'podman.sock') });

    afterAll(async () => {
      await external.stop();
    });

    it('should use the REST adapter on a socket that answers, and leave that service running on close', async () => {
      const socketPath = await external.start();
      const moduleRef = await Test.createTestingModule({
        imports: [RuntimeModule.forRoot({ env: process.env, adapter: 'rest', socketPath })],
      }).compile();

      const sut = moduleRef.get(ContainerRuntime);

      expect(sut).toBeInstanceOf(LibpodRestRuntime);
      expect((sut as LibpodRestRuntime).socketPath).toBe(socketPath);
      expect(await sut.version()).toMatch(/^\d+\.\d+\.\d+/);
      await moduleRef.close();
      expect(await pingPodmanSocket(socketPath)).toBe(true);
    });

    it('should start a service for auto when none answers and stop it on module close', async () => {
      const socketPath = path.join(work, 'own', 'podman.sock');
      const moduleRef = await Test.createTestingModule({
        imports: [RuntimeModule.forRoot({ env: process.env, adapter: 'auto', socketPath })],
      }).compile();
      try {
        const sut = moduleRef.get(ContainerRuntime);

        expect(sut).toBeInstanceOf(LibpodRestRuntime);
        expect(await pingPodmanSocket(socketPath)).toBe(true);
      } finally {
        await moduleRef.close();
      }
      expect(await pingPodmanSocket(socketPath)).toBe(false);
    });

    it('should fall back to the CLI adapter for auto when no socket answers and none can be started', async () => {
      const moduleRef = await Test.createTestingModule({
        imports: [
          RuntimeModule.forRoot({ env: process.env,
            adapter: 'auto',
            socketPath: path.join(work, 'never', 'podman.sock'),
            podmanPath: '/nonexistent/podman',
          }),
        ],
      }).compile();

      expect(moduleRef.get(ContainerRuntime)).toBeInstanceOf(PodmanRuntime);
      await moduleRef.close();
    });

    it('should fail start-up for rest when no socket answers and none can be started', async () => {
      const compiling = Test.createTestingModule({
        imports: [
          RuntimeModule.forRoot({ env: process.env,
            adapter: 'rest',
            socketPath: path.join(work, 'never', 'podman.sock'),
            podmanPath: '/nonexistent/podman',
          }),
        ],
      }).compile();

      await expect(compiling).rejects.toThrow(RuntimeUnavailableError);
    });

    it('should keep the CLI adapter when no adapter is given, without touching any socket', async () => {
      const socketPath = path.join(work, 'untouched', 'podman.sock');
      const moduleRef = await Test.createTestingModule({ imports: [RuntimeModule.forRoot({ env: process.env, socketPath })] }).compile();

      expect(moduleRef.get(ContainerRuntime)).toBeInstanceOf(PodmanRuntime);
      expect(await pingPodmanSocket(socketPath)).toBe(false);
      await moduleRef.close();
    });

  });
});
