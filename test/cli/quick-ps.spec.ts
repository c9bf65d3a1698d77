import * as fs from 'node:fs';
import * as path from 'node:path';
import { PassThrough, Writable } from 'node:stream';
import { runQuick } from '../../apps/cli/src/quick';
import { CliSandbox, type CliRun } from './fakes/cli-harness';

class Capture extends Writable {
  text = '';
  override _write(chunk: Buffer | string, _encoding: BufferEncoding, callback: () => void): void {
    this.text += chunk.toString();
    callback();
  }
}

/**
 * The quick path of `mcp ps` (no Nest) against the full command tree: for the forms it takes,
 * the same output and exit code; every other form is left to the full CLI. Its success path
 * against a real agent is covered by the binary and e2e suites (the built `mcp ps` takes it).
 */
describe('mcp ps quick path', () => {
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

  it.each([[['ps', '--help']], [['ps', '-h']], [['ps', 'extra']], [['ps', '--jsn']], [['ps', '--json', '--json']], [['list']], [[]], [['ps', '--', '--json']]])(
    'should leave %j to the full CLI',
    async (argv) => {
      expect(await quick(argv)).toBeUndefined();
    },
  );

  it.each([[['ps']], [['ps', '--json']], [['-q', 'ps']]])('should answer %j like the full CLI when there is no config', async (argv) => {
    const fast = await quick(argv);

    expect(fast).toEqual(await sandbox.run(argv));
    expect(fast!.code).toBe(1);
  });

  it('should give a stack under --debug, as the full CLI does (the frames differ)', async () => {
    const fast = await quick(['ps', '--debug']);
    const full = await sandbox.run(['ps', '--debug']);

    expect(fast!.code).toBe(full.code);
    expect(fast!.stderr.split('\n')[0]).toBe(full.stderr.split('\n')[0]);
    expect(fast!.stderr).toMatch(/^\s+at /m);
  });

  it('should answer like the full CLI for a config that is not valid', async () => {
    sandbox.writeConfig('[[nodes]]\nname = "a"\n');

    const fast = await quick(['ps']);

    expect(fast).toEqual(await sandbox.run(['ps']));
    expect(fast!.stderr).toContain(sandbox.configFile);
  });

  it('should answer like the full CLI when not logged in', async () => {
    sandbox.writeConfig('[[nodes]]\nname = "gone"\naddress = "127.0.0.1:1"\ntimeout = "3s"\n');

    const fast = await quick(['ps', '--json']);

    expect(fast).toEqual(await sandbox.run(['ps', '--json']));
    expect(fast!.code).toBe(4);
  });

  it('should answer like the full CLI, exit 3, when the agent is not listening', async () => {
    const ca = path.join(sandbox.home, 'ca.pem');
    fs.writeFileSync(ca, '');
    sandbox.writeConfig(`[tls]\nca_cert = "${ca}"\n[[nodes]]\nname = "gone"\naddress = "127.0.0.1:1"\ntimeout = "3s"\n`).writeToken();

    const fast = await quick(['ps']);
    const full = await sandbox.run(['ps']);

    expect(fast!.code).toBe(3);
    expect(fast).toEqual(full);
  });
});
