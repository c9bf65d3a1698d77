import { AgentClientFactory } from '../../apps/cli/src/client/agent-client';
import { UiCommand } from '../../apps/cli/src/commands/ui.command';
import { CliSandbox, TWO_NODES } from './fakes/cli-harness';
import { FakeAgentClientFactory } from './fakes/fake-agent-client';

/** `mcp ui`'s argument and start-up errors, through the real command module (the serving itself: test/e2e/ui-dashboard). */
describe(UiCommand.name, () => {
  let sandbox: CliSandbox;
  let factory: FakeAgentClientFactory;
  const overrides = () => [{ provide: AgentClientFactory, useValue: factory }];

  beforeEach(() => {
    sandbox = new CliSandbox();
    factory = new FakeAgentClientFactory({});
  });

  afterEach(() => sandbox.remove());

  it.each([
    [['--listen', '7070'], 'mcp: --listen must be an address and port like 127.0.0.1:7070 or [::1]:7070, got "7070"'],
    [['--listen', 'example.com:80'], 'mcp: --listen must be an address and port like 127.0.0.1:7070 or [::1]:7070, got "example.com:80"'],
    [['--interval', 'soon'], 'mcp: --interval must be a duration of at least 200ms like 2s, got "soon"'],
    [['--interval', '10ms'], 'mcp: --interval must be a duration of at least 200ms like 2s, got "10ms"'],
  ])('should exit 2 with one line for ui %j', async (args, line) => {
    sandbox.writeConfig(TWO_NODES).writeToken();
    const run = await sandbox.run(['ui', ...args], { overrides: overrides() });
    expect(run.code).toBe(2);
    expect(run.stderr.trim()).toBe(line);
    expect(run.stdout).toBe('');
  });

  it('should exit 4 "not logged in" before serving anything', async () => {
    sandbox.writeConfig(TWO_NODES);
    const run = await sandbox.run(['ui', '--listen', '127.0.0.1:0'], { overrides: overrides() });
    expect(run.code).toBe(4);
    expect(run.stderr.trim()).toBe('mcp: not logged in: run mcp login');
    expect(run.stdout).toBe('');
    expect(factory.calls).toEqual([]);
  });

  it('should say how to add a node when the config has none', async () => {
    sandbox.writeConfig('# no nodes yet\n').writeToken();
    const run = await sandbox.run(['ui', '--listen', '127.0.0.1:0'], { overrides: overrides() });
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/^mcp: .*no nodes.*mcp node add/im);
    expect(run.stdout).toBe('');
  });

  it('should teach in --help: the token, read-only, what each page shows', async () => {
    const run = await sandbox.run(['ui', '--help']);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('--listen <host:port>');
    expect(run.stdout).toMatch(/random access token/);
    expect(run.stdout).toMatch(/read-only/);
    expect(run.stdout).toMatch(/overview .*\n.*drift/);
  });
});
