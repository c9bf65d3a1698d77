import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { PassThrough, Writable } from 'node:stream';
import type { Provider } from '@nestjs/common';
import { runCli } from '../../../apps/cli/src/cli';

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

class Capture extends Writable {
  text = '';
  isTTY?: boolean;
  constructor(tty: boolean) {
    super();
    if (tty) this.isTTY = true;
  }
  override _write(chunk: Buffer | string, _encoding: BufferEncoding, callback: () => void): void {
    this.text += chunk.toString();
    callback();
  }
}

/** A throw-away HOME with ~/.config/mcp (config, services, token) for one test. */
export class CliSandbox {
  readonly home: string;
  readonly configDir: string;
  readonly servicesDir: string;

  constructor() {
    this.home = fs.mkdtempSync(path.join(os.tmpdir(), 'mcp-cli-test-'));
    this.configDir = path.join(this.home, '.config', 'mcp');
    this.servicesDir = path.join(this.configDir, 'services');
    fs.mkdirSync(this.servicesDir, { recursive: true });
  }

  get configFile(): string {
    return path.join(this.configDir, 'mcp.toml');
  }

  get tokenFile(): string {
    return path.join(this.configDir, 'token');
  }

  writeConfig(text: string): this {
    fs.writeFileSync(this.configFile, text);
    return this;
  }

  writeToken(token = 'tok-123'): this {
    fs.writeFileSync(this.tokenFile, `${token}\n`, { mode: 0o600 });
    return this;
  }

  writeService(name: string, text: string): string {
    const file = path.join(this.servicesDir, `${name}.toml`);
    fs.writeFileSync(file, text);
    return file;
  }

  read(file: string): string {
    return fs.readFileSync(file, 'utf8');
  }

  remove(): void {
    fs.rmSync(this.home, { recursive: true, force: true });
  }

  /** Runs `mcp <argv>` in-process through the real command module with the given ports. */
  async run(
    argv: string[],
    options: { overrides?: Provider[]; env?: NodeJS.ProcessEnv; tty?: boolean; stdin?: string } = {},
  ): Promise<CliRun> {
    const stdout = new Capture(options.tty === true);
    const stderr = new Capture(options.tty === true);
    const stdin = new PassThrough() as PassThrough & { isTTY?: boolean };
    stdin.end(options.stdin ?? '');
    const code = await runCli({
      argv,
      env: { HOME: this.home, ...options.env },
      io: { stdin, stdout, stderr },
      homeDir: this.home,
      overrides: options.overrides,
    });
    return { code, stdout: stdout.text, stderr: stderr.text };
  }
}

export const TWO_NODES = `# the fleet
[tls]
ca_cert = "ca.pem"

[[nodes]]
name = "alpha"
address = "10.0.0.1:9444"
server_name = "alpha.example.net"

[[nodes]]
name = "beta"
address = "10.0.0.2:9444"
`;

export const NOTES_TOML = `# notes service
name = "notes"
node = "alpha"
active = true # keep running

[[components]]
name = "notes"
image = "localhost/mcp-test/busybox:1.0"
# where it listens
[[components.routes]]
port = 443
`;
