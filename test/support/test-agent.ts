import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';
import type { AgentConfig } from '../../apps/agent/src/config/agent-config';
import { agentClient, type AgentTestClient } from './agent-client';
import { startAgentProcess, type AgentProcess } from './agent-process';
import { removeContainersAs, startRootlessAgent, type RootlessUser } from './rootless';
import { makeTestConfig, TEST_ADMIN_TOKEN, writeAgentConfigFile, writeTestTokens } from './test-config';
import { makeTlsFixture } from './tls-fixture';

const run = promisify(execFile);

/** Removes every container of root podman whose name starts with `prefix` (for afterAll). */
export async function removeContainers(prefix: string): Promise<void> {
  const { stdout } = await run('podman', ['ps', '-a', '--format', '{{.Names}}']);
  const names = stdout.split('\n').filter((name) => name.startsWith(prefix));
  if (names.length > 0) await run('podman', ['rm', '-f', '-t', '0', ...names]);
}

/**
 * The one agent set-up of the e2e suites: a config in its temp dir (makeTestConfig's by
 * default) with a TLS fixture at `<dir>/tls` and the test tokens, the real agent process
 * (as root, or on rootless podman as `user`), and a client. `start()` again after `stop()` or
 * `kill9()` restarts on the same config and data; `dispose()` in afterAll ends the process,
 * the suite's containers and the temp dir, whatever state the suite stopped in.
 */
export class TestAgent {
  process: AgentProcess | undefined;
  client: AgentTestClient | undefined;

  private constructor(
    readonly config: AgentConfig,
    readonly caCertPath: string,
    private readonly user: RootlessUser | undefined,
  ) {}

  /** `tokens: false` leaves the tokens file out (a config whose auth is not static tokens). */
  static async create(input: { config?: AgentConfig; user?: RootlessUser; tokens?: boolean } = {}): Promise<TestAgent> {
    const config = input.config ?? makeTestConfig();
    const { caCertPath } = await makeTlsFixture(path.join(path.dirname(config.file), 'tls'));
    if (input.tokens !== false) await writeTestTokens(config);
    writeAgentConfigFile(config);
    return new TestAgent(config, caCertPath, input.user);
  }

  /** The config file `serve`, `snapshot` and `restore` read. */
  get configPath(): string {
    return this.config.file;
  }

  get dir(): string {
    return path.dirname(this.config.file);
  }

  /** The client of the running agent (throws when none runs: a test bug, not a product one). */
  get rpc(): AgentTestClient {
    if (!this.client) throw new Error('TestAgent: no agent running; call start() first');
    return this.client;
  }

  get pid(): number {
    if (!this.process) throw new Error('TestAgent: no agent running; call start() first');
    return this.process.pid;
  }

  /** Spawns the agent (env: extra environment, e.g. MCP_AGENT_FAILPOINTS) and connects with `token` (default: admin). */
  async start(input: { env?: Record<string, string>; token?: string } = {}): Promise<AgentTestClient> {
    this.client?.close();
    this.process = this.user
      ? await startRootlessAgent({ user: this.user, config: this.config, env: input.env })
      : await startAgentProcess({ config: this.config, env: input.env });
    this.client = agentClient({ address: this.process.address, caCertPath: this.caCertPath, token: input.token ?? TEST_ADMIN_TOKEN });
    return this.client;
  }

  /** SIGTERM and wait; resolves to the exit code (undefined when no agent ran). */
  async stop(): Promise<number | null | undefined> {
    this.client?.close();
    this.client = undefined;
    const code = await this.process?.stop();
    this.process = undefined;
    return code;
  }

  /**
   * SIGKILL, no clean-up by the agent (its podman service stays, as in production; start()
   * reuses it). The dead process stays in `process` so that stop()/dispose() still end the
   * podman service left behind.
   */
  async kill9(): Promise<void> {
    this.client?.close();
    this.client = undefined;
    await this.process?.kill9();
  }

  /** Stops the agent, removes the containers named `containerPrefix*` (root's or the user's podman), deletes the temp dir. */
  async dispose(input: { containerPrefix?: string } = {}): Promise<void> {
    await this.stop();
    if (input.containerPrefix) await (this.user ? removeContainersAs(this.user, input.containerPrefix) : removeContainers(input.containerPrefix));
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}
