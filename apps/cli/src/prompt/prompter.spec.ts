import { PassThrough, Writable } from 'node:stream';
import { CliContext } from '../cli-context';
import { StdioPrompter } from './prompter';

class Capture extends Writable {
  text = '';
  onWrite?: () => void;
  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: () => void): void {
    this.text += chunk.toString();
    callback();
    this.onWrite?.();
  }
}

function setup(tty: boolean) {
  const stdin = new PassThrough() as PassThrough & { isTTY?: boolean; setRawMode?: (mode: boolean) => void; rawModes: boolean[] };
  stdin.rawModes = [];
  if (tty) {
    stdin.isTTY = true;
    stdin.setRawMode = (mode: boolean) => stdin.rawModes.push(mode);
  }
  const stderr = new Capture();
  const context = new CliContext({ debug: false, quiet: false, noColor: true }, {}, { stdin, stdout: new Capture(), stderr }, '/home/op', '0.0.0');
  return { sut: new StdioPrompter(context), stdin, stderr };
}

/** Types `text` one chunk at a time once the prompt has been written. */
function typeAfterPrompt(stdin: PassThrough, stderr: Capture, prompt: string, text: string): void {
  stderr.onWrite = () => {
    if (!stderr.text.includes(prompt)) return;
    stderr.onWrite = undefined;
    // After the prompt is out, as a person would type.
    setImmediate(() => stdin.write(text));
  };
}

describe(StdioPrompter.name, () => {
  describe('on a terminal', () => {
    it('should read a secret in raw mode without echoing it, then keep asking plain questions', async () => {
      const { sut, stdin, stderr } = setup(true);
      typeAfterPrompt(stdin, stderr, 'Username: ', 'ops\n');
      expect(await sut.ask('Username: ')).toBe('ops');
      typeAfterPrompt(stdin, stderr, 'Password: ', 's3cx\u007fret\r');
      expect(await sut.askSecret('Password: ')).toBe('s3cret');
      typeAfterPrompt(stdin, stderr, 'TOTP code: ', '123456\n');
      expect(await sut.ask('TOTP code: ')).toBe('123456');
      // readline switches raw mode too; what matters is that the terminal is left cooked.
      expect(stdin.rawModes).toContain(true);
      expect(stdin.rawModes.at(-1)).toBe(false);
      expect(stderr.text).not.toContain('s3c');
    });

    it('should reject a secret prompt cancelled with Ctrl-C', async () => {
      const { sut, stdin, stderr } = setup(true);
      typeAfterPrompt(stdin, stderr, 'Password: ', 'ab\u0003');
      await expect(sut.askSecret('Password: ')).rejects.toThrow('cancelled');
      expect(stdin.rawModes).toEqual([true, false]);
    });
  });

  describe('when stdin is not a terminal', () => {
    it('should read one line per question and prompt nothing', async () => {
      const { sut, stdin, stderr } = setup(false);
      stdin.end('s3cret\n654321\n');
      expect(await sut.askSecret('Password: ')).toBe('s3cret');
      expect(await sut.ask('TOTP code: ')).toBe('654321');
      expect(await sut.ask('More: ')).toBe('');
      expect(await sut.confirm('write?')).toBe(false);
      expect(stderr.text).toBe('');
    });
  });
});
