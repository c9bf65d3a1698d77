import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { ContainerNotFoundError, ImageNotFoundError, PortConflictError, RuntimeCommandError } from '@mcp/common';
import { ContainerEvent, ContainerRuntime, LABEL_MANAGED, LABEL_SERVICE, RunOptions } from '../container-runtime';
import { freePort } from './real-podman';

/**
 * What every ContainerRuntime must do, run against PodmanRuntime (real podman) and the
 * FakeRuntime other suites use, so the fake cannot drift from what podman really does.
 */
export interface RuntimeContractSubject {
  sut: ContainerRuntime;
  /** An image present locally that can run `sleep`. */
  image: string;
  /** A reference that is not present locally. */
  absentImage: string;
}

/** `label` names the subject in the count printed at the end ("podman" → "started 6 containers"). */
export function containerRuntimeContract(label: string, setup: () => Promise<RuntimeContractSubject>): void {
  describe('ContainerRuntime contract', () => {
    const prefix = `mcptest-rtc-${randomBytes(3).toString('hex')}`;
    const hostDir = mkdtempSync(path.join(tmpdir(), `${prefix}-`));
    let subject: RuntimeContractSubject;
    let sut: ContainerRuntime;
    let started = 0;

    function options(name: string, overrides: Partial<RunOptions> = {}): RunOptions {
      return {
        name: `${prefix}-${name}`,
        image: subject.image,
        ports: [],
        volumes: [],
        env: [],
        cmd: ['sleep', '300'],
        labels: {},
        ...overrides,
      };
    }

    beforeAll(async () => {
      subject = await setup();
      sut = subject.sut;
    });

    /** `sut.run`, counted for the summary line. */
    async function runCounted(run: RunOptions): Promise<string> {
      const id = await sut.run(run);
      started++;
      return id;
    }

    afterAll(async () => {
      if (sut) {
        const ours = (await sut.list()).filter((container) => container.name.startsWith(prefix));
        for (const container of ours) await sut.remove({ name: container.name, timeoutSeconds: 0 });
        for (const secret of await sut.listSecrets()) {
          if (secret.name.startsWith(prefix)) await sut.removeSecret({ name: secret.name });
        }
      }
      rmSync(hostDir, { recursive: true, force: true });
      console.log(`runtime contract (${label}): started ${started} containers`);
    });

    it('should run a container and inspect back what it was given', async () => {
      const port = await freePort();
      const run = options('full', {
        user: '0:0',
        restart: 'on-failure:2',
        ports: [`127.0.0.1:${port}:8080`],
        volumes: [`${hostDir}:/data:ro`],
        env: ['GREETING=hello world'],
        labels: { [LABEL_MANAGED]: 'true', [LABEL_SERVICE]: `${prefix}-full` },
      });

      const id = await runCounted(run);
      const details = await sut.inspect({ name: run.name });

      expect(details).toMatchObject({
        id,
        name: run.name,
        image: subject.image,
        state: 'running',
        cmd: ['sleep', '300'],
        command: ['sleep', '300'],
        labels: run.labels,
        user: '0:0',
        restart: 'on-failure:2',
        network: undefined,
        portSpecs: [`127.0.0.1:${port}:8080/tcp`],
        ports: [{ hostIp: '127.0.0.1', hostPort: port, containerPort: 8080, protocol: 'tcp' }],
        volumes: [`${hostDir}:/data:ro`],
        exitCode: undefined,
      });
      expect(details?.env).toEqual(expect.arrayContaining(['GREETING=hello world']));
      expect(details?.startedAt).toBeInstanceOf(Date);
    });

    it('should run with memory and cpu limits and secrets as files and variables', async () => {
      const secret = `${prefix}.token`;
      await sut.createSecret({ name: secret, value: Buffer.from('contract-value') });
      const run = options('limits', {
        memory: '64m',
        cpus: 0.5,
        secrets: [
          { source: secret, type: 'file', target: 'token' },
          { source: secret, type: 'env', target: 'TOKEN' },
        ],
      });

      await runCounted(run);
      const details = await sut.inspect({ name: run.name });

      expect(details).toMatchObject({ state: 'running', memoryBytes: 64 * 1024 * 1024, cpus: 0.5 });
      expect(details?.secrets).toEqual(expect.arrayContaining([secret]));
      expect(details?.env.some((entry) => entry.startsWith('TOKEN='))).toBe(false);
      expect(JSON.stringify(details)).not.toContain('contract-value');
    });

    it('should refuse to run with a secret that does not exist, leaving no container behind', async () => {
      const run = options('nosecret', { secrets: [{ source: `${prefix}.absent`, type: 'file', target: 'absent' }] });

      await expect(sut.run(run)).rejects.toBeInstanceOf(RuntimeCommandError);
      expect(await sut.inspect({ name: run.name })).toBeNull();
    });

    it('should read back the value a secret was last set to, and null for a missing one (move --copy-secrets)', async () => {
      const name = `${prefix}.readable`;
      await sut.createSecret({ name, value: Buffer.from('old-readable') });
      await sut.createSecret({ name, value: Buffer.from('new-readable value\n') });

      expect((await sut.readSecret({ name }))?.toString()).toBe('new-readable value\n');
      expect(await sut.readSecret({ name: `${prefix}.never-set` })).toBeNull();
    });

    it('should create, list, replace and remove secrets without ever listing a value', async () => {
      const name = `${prefix}.rotate`;
      const first = await sut.createSecret({ name, value: Buffer.from('first-value') });
      const second = await sut.createSecret({ name, value: Buffer.from('second-value') });
      const listed = (await sut.listSecrets()).filter((secret) => secret.name === name);

      expect(first.name).toBe(name);
      expect(second.id).not.toBe(first.id);
      expect(listed).toEqual([{ id: second.id, name, createdAt: expect.any(Date) }]);
      expect(JSON.stringify(listed)).not.toMatch(/first-value|second-value/);

      await sut.removeSecret({ name });
      expect((await sut.listSecrets()).some((secret) => secret.name === name)).toBe(false);
      await expect(sut.removeSecret({ name })).resolves.toBeUndefined();
    });

    it('should list a running container once, with its command, labels and ports', async () => {
      const listed = (await sut.list()).filter((container) => container.name === `${prefix}-full`);

      expect(listed).toHaveLength(1);
      expect(listed[0]).toMatchObject({
        state: 'running',
        image: subject.image,
        command: ['sleep', '300'],
        labels: { [LABEL_MANAGED]: 'true' },
        ports: [{ hostIp: '127.0.0.1', containerPort: 8080, protocol: 'tcp' }],
      });
    });

    it('should stop, start, restart and remove', async () => {
      const run = options('life');
      await runCounted(run);

      await sut.stop({ name: run.name, timeoutSeconds: 0 });
      const stopped = await sut.inspect({ name: run.name });
      expect(stopped?.state).toBe('exited');
      expect(stopped?.exitCode).toEqual(expect.any(Number));

      await sut.start({ name: run.name });
      expect((await sut.inspect({ name: run.name }))?.state).toBe('running');

      await sut.restart({ name: run.name, timeoutSeconds: 0 });
      expect((await sut.inspect({ name: run.name }))?.state).toBe('running');

      await sut.remove({ name: run.name, timeoutSeconds: 0 });
      expect(await sut.inspect({ name: run.name })).toBeNull();
      await expect(sut.remove({ name: run.name, timeoutSeconds: 0 })).resolves.toBeUndefined();
    });

    it.each(['stop', 'start', 'restart'] as const)(
      'should %s an unknown container with ContainerNotFoundError',
      async (method) => {
        await expect(sut[method]({ name: `${prefix}-ghost` })).rejects.toBeInstanceOf(ContainerNotFoundError);
      },
    );

    it('should report create, start, died (with the exit code) and remove on a followed event stream', async () => {
      const run = options('events', { labels: { [LABEL_MANAGED]: 'true', [LABEL_SERVICE]: 'ev' } });
      const stream = await sut.events();
      const seen: ContainerEvent[] = [];
      const done = (async () => {
        for await (const event of stream) {
          if (event.name !== run.name) continue;
          seen.push(event);
          if (event.action === 'remove') break;
        }
      })();
      try {
        const id = await runCounted(run);
        await sut.stop({ name: run.name, timeoutSeconds: 0 });
        await sut.remove({ name: run.name, timeoutSeconds: 0 });
        await done;
        const actions = seen.map((event) => event.action);
        expect(actions).toEqual(expect.arrayContaining(['create', 'start', 'died', 'remove']));
        expect(actions.indexOf('create')).toBeLessThan(actions.indexOf('start'));
        expect(actions.indexOf('died')).toBeLessThan(actions.indexOf('remove'));
        expect(seen.every((event) => event.id === id)).toBe(true);
        expect(seen.find((event) => event.action === 'died')?.exitCode).toEqual(expect.any(Number));
        expect(seen[0].time).toBeInstanceOf(Date);
      } finally {
        stream.close();
      }
    });

    it('should end the iteration when the stream is closed from this side', async () => {
      const stream = await sut.events();
      const ended = (async () => {
        for await (const _event of stream) {
          // nothing expected
        }
        return 'ended';
      })();
      stream.close();
      await expect(ended).resolves.toBe('ended');
    });

    it('should give null when inspecting an unknown container', async () => {
      expect(await sut.inspect({ name: `${prefix}-ghost` })).toBeNull();
    });

    it('should refuse a taken name and leave its holder running', async () => {
      const run = options('taken');
      await runCounted(run);

      await expect(sut.run(run)).rejects.toBeInstanceOf(RuntimeCommandError);
      expect((await sut.inspect({ name: run.name }))?.state).toBe('running');
    });

    it('should not pull: an image that is not here is ImageNotFoundError', async () => {
      await expect(sut.run(options('absent', { image: subject.absentImage }))).rejects.toBeInstanceOf(
        ImageNotFoundError,
      );
      expect(await sut.inspect({ name: `${prefix}-absent` })).toBeNull();
    });

    it('should refuse a host port another running container publishes, leaving no container behind', async () => {
      const port = await freePort();
      await runCounted(options('port-a', { ports: [`127.0.0.1:${port}:8080`] }));

      await expect(sut.run(options('port-b', { ports: [`127.0.0.1:${port}:8081`] }))).rejects.toBeInstanceOf(
        PortConflictError,
      );
      expect(await sut.inspect({ name: `${prefix}-port-b` })).toBeNull();
    });

    it('should say whether an image is present', async () => {
      expect(await sut.imageExists({ image: subject.image })).toBe(true);
      expect(await sut.imageExists({ image: subject.absentImage })).toBe(false);
    });

    it('should report logs of an unknown container as ContainerNotFoundError', async () => {
      const iterate = async () => {
        for await (const chunk of sut.logs({ name: `${prefix}-ghost` })) void chunk;
      };

      await expect(iterate()).rejects.toBeInstanceOf(ContainerNotFoundError);
    });

    it('should run a command inside a running container and report its exit status (not an error)', async () => {
      await runCounted(options('exec'));
      expect((await sut.execIn({ name: `${prefix}-exec`, cmd: ['false'], timeoutMs: 10_000 })).exitCode).toBe(1);
      expect((await sut.execIn({ name: `${prefix}-exec`, cmd: ['true'], timeoutMs: 10_000 })).exitCode).toBe(0);
      await expect(sut.execIn({ name: `${prefix}-ghost`, cmd: ['true'], timeoutMs: 10_000 })).rejects.toBeInstanceOf(ContainerNotFoundError);
    });

    it('should rename a container, and refuse to rename a missing one', async () => {
      const id = await runCounted(options('old-name'));
      await sut.rename({ name: `${prefix}-old-name`, newName: `${prefix}-new-name` });
      expect(await sut.inspect({ name: `${prefix}-old-name` })).toBeNull();
      expect((await sut.inspect({ name: `${prefix}-new-name` }))?.id).toBe(id);
      await expect(sut.rename({ name: `${prefix}-ghost`, newName: `${prefix}-other` })).rejects.toBeInstanceOf(ContainerNotFoundError);
    });

    it('should resolve an image digest', async () => {
      expect(await sut.imageDigest({ image: subject.image })).toMatch(/^sha256:[0-9a-f]{64}$/);
      await expect(sut.imageDigest({ image: subject.absentImage })).rejects.toBeInstanceOf(ImageNotFoundError);
    });
  });
}
