import * as fs from 'node:fs';
import * as path from 'node:path';
import { PassThrough, Writable } from 'node:stream';
import { quickExecArgs, runQuick } from '../../apps/cli/src/quick';
import { CliSandbox, type CliRun } from './fakes/cli-harness';

class Capture extends Writable {
  text = '';
  override _write(chunk: Buffer | string, _encoding: BufferEncoding, callback: () => void): void {
    this.text += chunk.toString();
    callback();
  }
}

/**
 * The quick path of `mcp exec` (no Nest; bench E1): which forms it takes, with what options,
 * and that it fails like the full command tree. Its success path against a real agent is the
 * exec e2e suite's (the built `mcp exec … -- CMD` takes it: streams, exit status, TTY, Ctrl-C).
 */
describe('mcp exec quick path', () => {
  let sandbox: CliSandbox;

  beforeEach(() => {
    sandbox = new CliSandbox();
  });

  afterEach(() => sandbox.remove());

  async function quick(argv: string[]): Promise<CliRun | undefined> {
    const stdout = new Capture();
    const stderr = new Capture();
    const stdin = new PassThrough();
    stdin.end();
    const code = await runQuick({ argv, env: { HOME: sandbox.home }, io: { stdin, stdout, stderr }, homeDir: sandbox.home });
    return code === undefined ? undefined : { code, stdout: stdout.text, stderr: stderr.text };
  }

  it.each([
    [['svc/web', '--', 'true'], { target: 'svc/web', cmd: ['true'], options: {} }],
    [['-it', 'svc', '--', 'sh', '-c', 'echo $0', '--help'], { target: 'svc', cmd: ['sh', '-c', 'echo $0', '--help'], options: { interactive: true, tty: true } }],
    [['svc/web', '-i', '--tty', '--user', '1000:1000', '--workdir=/srv', '--node', 'rift', '--', 'ls', '-l'], { target: 'svc/web', cmd: ['ls', '-l'], options: { interactive: true, tty: true, user: '1000:1000', workdir: '/srv', node: 'rift' } }],
    [['--interactive', 'svc', '--', '--', 'x'], { target: 'svc', cmd: ['--', 'x'], options: { interactive: true } }],
  ])('should read %j', (args, expected) => {
    expect(quickExecArgs(args)).toEqual(expected);
  });

  it.each([[['exec', 'svc', 'true']], [['exec', 'svc', '--']], [['exec', '--help']], [['exec', 'svc', '--help', '--', 'x']], [['exec', 'svc', '-x', '--', 'true']], [['exec', 'a', 'b', '--', 'true']], [['exec', '--', 'true']], [['exec', 'svc', '--user', '--', 'true']]])(
    'should leave %j to the full CLI',
    async (argv) => {
      expect(await quick(argv)).toBeUndefined();
    },
  );

  it.each([[['exec', 'notes/web', '--', 'true']], [['exec', 'bad_name', '--', 'true']], [['-q', 'exec', 'notes', '-i', '--', 'cat']]])('should fail %j like the full CLI without a config', async (argv) => {
    const fast = await quick(argv);
    expect(fast).toEqual(await sandbox.run(argv));
    expect(fast!.code).not.toBe(0);
  });

  it('should fail like the full CLI, exit 3, when the agent is not listening', async () => {
    const ca = path.join(sandbox.home, 'ca.pem');
    fs.writeFileSync(ca, '');
    sandbox.writeConfig(`[tls]\nca_cert = "${ca}"\n[[nodes]]\nname = "gone"\naddress = "127.0.0.1:1"\ntimeout = "3s"\n`).writeToken();

    const fast = await quick(['exec', 'notes/web', '--', 'true']);
    const full = await sandbox.run(['exec', 'notes/web', '--', 'true']);

    expect(fast!.code).toBe(3);
    expect(fast).toEqual(full);
  });
});
