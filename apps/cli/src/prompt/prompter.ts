import { Injectable } from '@nestjs/common';
import { CliContext } from '../cli-context';

/**
 * Asks the operator for input. On a terminal: prompts on stderr, secrets without echo.
 * Otherwise: reads lines from stdin (so scripts can pipe a password in).
 */
export abstract class Prompter {
  abstract ask(question: string): Promise<string>;
  abstract askSecret(question: string): Promise<string>;
  abstract confirm(question: string): Promise<boolean>;
}

@Injectable()
export class StdioPrompter extends Prompter {
  private lines?: AsyncIterator<string>;

  constructor(private readonly context: CliContext) {
    super();
  }

  ask(question: string): Promise<string> {
    return this.read(question, false);
  }

  askSecret(question: string): Promise<string> {
    return this.read(question, true);
  }

  async confirm(question: string): Promise<boolean> {
    if (!this.context.stdinIsTty) return false;
    const answer = await this.read(`${question} [y/N] `, false);
    return /^y(es)?$/i.test(answer.trim());
  }

  private async read(question: string, secret: boolean): Promise<string> {
    const { stdin, stderr } = this.context.io;
    if (!this.context.stdinIsTty) return this.nextLine();
    if (!secret) {
      // One short-lived interface per question, so nothing stays buffered for the next one.
      const readline = await import('node:readline');
      const rl = readline.createInterface({ input: stdin, output: stderr, terminal: true });
      try {
        return await new Promise<string>((resolve) => rl.question(question, resolve));
      } finally {
        rl.close();
      }
    }
    stderr.write(question);
    return new Promise<string>((resolve, reject) => {
      let value = '';
      stdin.setRawMode?.(true);
      stdin.resume();
      const finish = (result?: string) => {
        stdin.setRawMode?.(false);
        stdin.pause();
        stdin.removeListener('data', onData);
        stderr.write('\n');
        if (result === undefined) reject(new Error('cancelled'));
        else resolve(result);
      };
      const onData = (data: Buffer) => {
        for (const char of data.toString('utf8')) {
          if (char === '\r' || char === '\n' || char === '\u0004') return finish(value);
          if (char === '\u0003') return finish(undefined);
          if (char === '\u007f' || char === '\b') value = value.slice(0, -1);
          else value += char;
        }
      };
      stdin.on('data', onData);
    });
  }

  /** Non-terminal stdin: one reader for the whole run, a line per question. */
  private async nextLine(): Promise<string> {
    if (!this.lines) {
      const readline = await import('node:readline');
      this.lines = readline.createInterface({ input: this.context.io.stdin, terminal: false })[Symbol.asyncIterator]();
    }
    const next = await this.lines.next();
    return next.done ? '' : next.value;
  }
}
