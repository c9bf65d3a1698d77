import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import type { ContainerDetails, ContainerRuntime, LogChunk, RunOptions } from '../container-runtime';

const execFileAsync = promisify(execFile);

/** The local test image scripts/build-test-image.sh makes, and a reference that is never present. */
export const TEST_IMAGE = 'localhost/mcp-test/busybox:1.0';
export const ABSENT_IMAGE = 'localhost/mcp-test/absent:1.0';

/** A TCP port free on 127.0.0.1 right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

export const pause = (ms: number): Promise<unknown> => new Promise((resolve) => setTimeout(resolve, ms));

/** A log stream read to its end, split by stream. */
export async function collectLogs(stream: AsyncIterable<LogChunk>): Promise<{ stdout: string; stderr: string }> {
  const out = { stdout: '', stderr: '' };
  for await (const chunk of stream) out[chunk.stream] += chunk.data.toString('utf8');
  return out;
}

/**
 * The real-podman set-up the adapter specs share (PodmanRuntime's and LibpodRestRuntime's):
 * one run prefix naming every container, network and volume they make, a temp work dir,
 * `run`/`waitForState` against the adapter under test, and `tearDown()` for afterAll, which
 * removes what carries the prefix whatever happened.
 */
export class RealPodmanFixture {
  readonly prefix: string;
  readonly network: string;
  readonly volume: string;
  readonly work: string;
  /** Containers started through `run`, for the summary line. */
  started = 0;

  /** `sut` is read at each call: an adapter made in beforeAll is fine. */
  constructor(
    tag: string,
    private readonly sut: () => ContainerRuntime,
    private readonly readyDeadlineMs = 15_000,
  ) {
    this.prefix = `mcptest-${tag}-${randomBytes(3).toString('hex')}`;
    this.network = `${this.prefix}-net`;
    this.volume = `${this.prefix}-data`;
    this.work = mkdtempSync(path.join(tmpdir(), `${this.prefix}-`));
  }

  /** `sut.run` with the test image and empty lists as defaults, counted. */
  run = async (options: Partial<RunOptions> & { name: string }): Promise<string> => {
    const id = await this.sut().run({ image: TEST_IMAGE, ports: [], volumes: [], env: [], cmd: [], labels: {}, ...options });
    this.started++;
    return id;
  };

  /** Polls inspect (bounded) until the container is in one of `states`. */
  waitForState = async (name: string, states: string[]): Promise<ContainerDetails> => {
    const deadline = Date.now() + this.readyDeadlineMs;
    for (;;) {
      const details = await this.sut().inspect({ name });
      if (details && states.includes(details.state)) return details;
      if (Date.now() > deadline) throw new Error(`${name} never reached ${states.join('/')}: ${details?.state}`);
      await pause(100);
    }
  };

  /** Creates the run's network. */
  async setUp(): Promise<void> {
    await execFileAsync('podman', ['network', 'create', this.network]);
  }

  /** Removes the run's containers, network and volume (each attempt on its own), then the work dir. */
  async tearDown(): Promise<void> {
    const { stdout } = await execFileAsync('podman', ['ps', '--all', '--format', '{{.Names}}']);
    for (const name of stdout.split('\n').filter((line) => line.startsWith(this.prefix))) {
      await execFileAsync('podman', ['rm', '-f', '-t', '0', '--', name]).catch(() => undefined);
    }
    await execFileAsync('podman', ['network', 'rm', '-f', this.network]).catch(() => undefined);
    await execFileAsync('podman', ['volume', 'rm', '-f', this.volume]).catch(() => undefined);
    rmSync(this.work, { recursive: true, force: true });
  }
}
