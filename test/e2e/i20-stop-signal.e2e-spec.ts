import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { makeTestConfig, protoService, TestAgent, type AgentTestClient } from '../support';

jest.setTimeout(90_000);

const execFileAsync = promisify(execFile);
const SERVICE = `i20s${randomBytes(3).toString('hex')}`;
/** As PID 1, sh ignores SIGTERM (no handler: the kernel drops it) and exits 3 on SIGINT. */
const INT_ONLY = ['/bin/sh', '-c', "trap 'exit 3' INT; sleep 3600 & wait"];
/** As PID 1, sleep has no handlers at all: only SIGKILL ends it. */
const STUBBORN = ['sleep', '3600'];
/** The agent's own stop timeout, long enough that a stop using it instead of the component's is unmistakable. */
const AGENT_STOP_TIMEOUT_SECONDS = 30;

async function inspect(name: string): Promise<{ id: string; stopSignal: number; stopTimeout: number }> {
  const { stdout } = await execFileAsync('podman', ['inspect', '--type', 'container', '--format', '{{.Id}} {{.Config.StopSignal}} {{.Config.StopTimeout}}', '--', name]);
  const [id, stopSignal, stopTimeout] = stdout.trim().split(' ');
  return { id, stopSignal: Number(stopSignal), stopTimeout: Number(stopTimeout) };
}

/** podman's own record of how the container `id` ended: its `died` event (exit code, time). */
async function died(id: string): Promise<{ exitCode: number; at: number }> {
  const { stdout } = await execFileAsync('podman', ['events', '--stream=false', '--since', '5m', '--filter', `container=${id}`, '--filter', 'event=died', '--format', '{{.ContainerExitCode}} {{.Time}}']);
  const line = stdout.trim().split('\n').filter(Boolean).pop();
  if (!line) throw new Error(`podman recorded no died event for ${id}`);
  const [code, ...time] = line.split(' ');
  return { exitCode: Number(code), at: Date.parse(`${time[0]}T${time[1]}Z`) };
}

/**
 * Issue 20 item 6 with the real agent and real podman: a component's stop_signal and
 * stop_timeout reach the container podman creates (its recorded StopSignal/StopTimeout), and a
 * redeploy stops the old container with them: a program that ignores SIGTERM but handles the
 * configured signal exits by itself (exit code 3, podman's record) instead of being killed
 * after the timeout; one that ignores everything is killed after its own stop_timeout, not
 * the agent's.
 */
describe('stop_signal and stop_timeout (real agent, real podman)', () => {
  let node: TestAgent;
  let client: AgentTestClient;

  const deploy = (version: string) =>
    client.call('deploy', {
      service: protoService({
        name: SERVICE,
        components: [
          { name: 'int', cmd: INT_ONLY, env: [`VERSION=${version}`], stop_signal: 'SIGINT', stop_timeout: '20s' },
          { name: 'stubborn', cmd: STUBBORN, env: [`VERSION=${version}`], stop_timeout: '1s' },
        ],
      }),
      component: '',
      force: false,
    });

  beforeAll(async () => {
    const config = makeTestConfig({ mcproxy: { socket: undefined } });
    config.agent.stopTimeoutSeconds = AGENT_STOP_TIMEOUT_SECONDS;
    node = await TestAgent.create({ config });
    client = await node.start();
    const first = await deploy('1');
    expect(first.results.map((r) => r.error)).toEqual(['', '']);
  });

  afterAll(async () => {
    await node?.dispose({ containerPrefix: SERVICE });
  });

  it("should create the containers with the component's stop signal and timeout", async () => {
    expect(await inspect(`${SERVICE}-int`)).toMatchObject({ stopSignal: 2, stopTimeout: 20 });
    // No stop_signal: podman's SIGTERM; stop_timeout 1s.
    expect(await inspect(`${SERVICE}-stubborn`)).toMatchObject({ stopSignal: 15, stopTimeout: 1 });
  });

  it("should stop the old containers with the component's signal and timeout on a redeploy", async () => {
    const oldInt = await inspect(`${SERVICE}-int`);
    const oldStubborn = await inspect(`${SERVICE}-stubborn`);
    const started = Date.now();

    const second = await deploy('2');

    expect(second.results.map((r) => r.error)).toEqual(['', '']);
    // SIGINT reached the program, which exited by itself: no wait for a timeout at all.
    expect((await died(oldInt.id)).exitCode).toBe(3);
    // Killed (137) after its own 1s: podman recorded the death well before the agent's 30 s could have run out.
    const stubborn = await died(oldStubborn.id);
    expect(stubborn.exitCode).toBe(137);
    expect(stubborn.at - started).toBeLessThan((AGENT_STOP_TIMEOUT_SECONDS / 2) * 1000);
    expect((await inspect(`${SERVICE}-int`)).id).not.toBe(oldInt.id);
  });
});
