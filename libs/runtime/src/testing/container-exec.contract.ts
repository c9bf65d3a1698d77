import { createHash, randomBytes } from 'node:crypto';
import { ContainerNotFoundError, ContainerNotRunningError } from '@mcp/common';
import type { ContainerRuntime, ExecSession } from '../container-runtime';

export interface ExecContractSubject {
  sut: ContainerRuntime;
  /** An image whose /bin/busybox has every applet (sh, cat, head, sleep, `busybox stty`, `busybox sha256sum`). */
  image: string;
  /** Whether the adapter can give a TTY a size and change it (the CLI adapter cannot: podman exec takes its own terminal's). */
  resizes: boolean;
}

/** Everything a session printed, by stream, and its exit status. */
export async function drainSession(session: ExecSession): Promise<{ stdout: Buffer; stderr: Buffer; exitCode: number }> {
  const out = { stdout: [] as Buffer[], stderr: [] as Buffer[] };
  for await (const chunk of session.output) out[chunk.stream].push(chunk.data);
  return { stdout: Buffer.concat(out.stdout), stderr: Buffer.concat(out.stderr), exitCode: await session.exitCode() };
}

/**
 * What `ContainerRuntime.exec` must do on every real adapter (SPEC §12 `mcp exec`): streams
 * apart, exit status through, podman's 127/126, typed errors for a missing or stopped
 * container, bytes exact, output pulled (a consumer that does not read holds the command
 * back, so memory stays bounded), TTY size and resize.
 */
export function containerExecContract(label: string, setup: () => Promise<ExecContractSubject>): void {
  describe(`ContainerRuntime exec contract (${label})`, () => {
    const prefix = `i21-exec-${randomBytes(3).toString('hex')}`;
    const running = `${prefix}-up`;
    const stopped = `${prefix}-down`;
    let subject: ExecContractSubject;
    let sut: ContainerRuntime;

    beforeAll(async () => {
      subject = await setup();
      sut = subject.sut;
      const base = { image: subject.image, ports: [], volumes: [], env: [], labels: {} };
      await sut.run({ ...base, name: running, cmd: ['sleep', '300'] });
      await sut.run({ ...base, name: stopped, cmd: ['true'] });
      for (let i = 0; i < 100 && (await sut.inspect({ name: stopped }))?.state === 'running'; i++) await new Promise((r) => setTimeout(r, 50));
    });

    afterAll(async () => {
      for (const name of [running, stopped]) await sut?.remove({ name, timeoutSeconds: 0 });
    });

    const exec = (cmd: string[], extra: { stdin?: boolean; tty?: boolean; size?: { rows: number; cols: number }; user?: string; workdir?: string } = {}) =>
      sut.exec({ name: running, cmd, stdin: extra.stdin ?? false, tty: extra.tty ?? false, size: extra.size, user: extra.user, workdir: extra.workdir });

    it('should keep stdout and stderr apart and pass the exit status through', async () => {
      const result = await drainSession(await exec(['sh', '-c', 'echo out; echo err >&2; exit 3']));
      expect(result).toEqual({ stdout: Buffer.from('out\n'), stderr: Buffer.from('err\n'), exitCode: 3 });
    });

    it('should feed stdin and end it', async () => {
      const session = await exec(['cat'], { stdin: true });
      await session.write(Buffer.from('hello '));
      await session.write(Buffer.from('world'));
      session.endInput();
      const result = await drainSession(session);
      expect(result.stdout.toString()).toBe('hello world');
      expect(result.exitCode).toBe(0);
    });

    it('should run as --user in --workdir', async () => {
      const result = await drainSession(await exec(['sh', '-c', 'id -u; pwd'], { user: '65534', workdir: '/tmp' }));
      expect(result.stdout.toString()).toBe('65534\n/tmp\n');
    });

    it('should answer 127 for a command that does not exist and 126 for one that cannot run, as podman', async () => {
      expect((await drainSession(await exec(['no-such-command']))).exitCode).toBe(127);
      expect((await drainSession(await exec(['/etc/passwd']))).exitCode).toBe(126);
    });

    it('should refuse a missing container and a stopped one with their own errors', async () => {
      await expect(sut.exec({ name: `${prefix}-none`, cmd: ['true'], stdin: false, tty: false })).rejects.toBeInstanceOf(ContainerNotFoundError);
      await expect(sut.exec({ name: stopped, cmd: ['true'], stdin: false, tty: false })).rejects.toBeInstanceOf(ContainerNotRunningError);
    });

    it('should pass binary output through byte for byte', async () => {
      const result = await drainSession(
        await exec(['sh', '-c', 'head -c 3000000 /dev/urandom > /tmp/blob; busybox sha256sum /tmp/blob >&2; cat /tmp/blob; rm /tmp/blob']),
      );
      expect(result.stdout.length).toBe(3_000_000);
      expect(createHash('sha256').update(result.stdout).digest('hex')).toBe(result.stderr.toString().split(' ')[0]);
    });

    it('should hold the command back while nobody reads (memory bounded), then deliver all 64 MiB', async () => {
      const session = await exec(['sh', '-c', 'head -c 67108864 /dev/zero; echo done >&2']);
      const before = process.memoryUsage().arrayBuffers;
      await new Promise((resolve) => setTimeout(resolve, 1500));
      const held = process.memoryUsage().arrayBuffers - before;
      expect(held).toBeLessThan(16 * 1024 * 1024);
      let bytes = 0;
      let stderr = '';
      for await (const chunk of session.output) {
        if (chunk.stream === 'stdout') bytes += chunk.data.length;
        else stderr += chunk.data.toString();
      }
      expect(bytes).toBe(64 * 1024 * 1024);
      expect(stderr).toBe('done\n');
      expect(await session.exitCode()).toBe(0);
    });

    it('should give a TTY (its output all on stdout)', async () => {
      const result = await drainSession(await exec(['sh', '-c', 'tty; echo err >&2'], { tty: true, size: { rows: 33, cols: 101 } }));
      expect(result.stdout.toString()).toMatch(/^\/dev\/pts\/\d+\r\nerr\r\n$/);
      expect(result.stderr.length).toBe(0);
    });

    it('should size the TTY and resize it, where the adapter can', async () => {
      if (!subject.resizes) {
        const session = await exec(['true'], { tty: true });
        expect(await session.resize({ rows: 40, cols: 120 })).toBe(false);
        await drainSession(session);
        return;
      }
      const session = await exec(['sh', '-c', 'busybox stty size; read line; busybox stty size'], { tty: true, stdin: true, size: { rows: 33, cols: 101 } });
      const output = session.output[Symbol.asyncIterator]();
      let text = '';
      while (!text.includes('33 101\r\n')) text += (await output.next()).value?.data.toString() ?? '';
      expect(await session.resize({ rows: 40, cols: 120 })).toBe(true);
      await session.write(Buffer.from('\r'));
      for (let next = await output.next(); !next.done; next = await output.next()) text += next.value.data.toString();
      expect(text).toContain('40 120\r\n');
      expect(await session.exitCode()).toBe(0);
    });

    it('should stop the command when the session is closed from this side', async () => {
      const session = await exec(['sleep', '120']);
      const started = Date.now();
      await session.close();
      const left = await drainSession(await exec(['sh', '-c', 'ps -o args | grep -c "^sleep 120" || true']));
      expect(left.stdout.toString().trim()).toBe('0');
      expect(Date.now() - started).toBeLessThan(10_000);
    });
  });
}
