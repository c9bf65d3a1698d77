import { spawn } from 'node:child_process';
import { Injectable } from '@nestjs/common';
import { CliContext } from '../cli-context';
import { CommandFailedError } from '../errors';

/** Port: opens a file in the operator's editor and resolves when it exits. */
export abstract class Editor {
  abstract edit(file: string): Promise<void>;
}

/**
 * Runs `$VISUAL` or `$EDITOR` (default `vi`) without a shell: the variable is split on
 * whitespace into argv (`code -w` works), the file is the last argument.
 */
@Injectable()
export class SpawnEditor extends Editor {
  constructor(private readonly context: CliContext) {
    super();
  }

  edit(file: string): Promise<void> {
    const command = (this.context.env.VISUAL || this.context.env.EDITOR || 'vi').trim().split(/\s+/);
    const [program, ...args] = command;
    return new Promise((resolve, reject) => {
      const child = spawn(program, [...args, file], { stdio: 'inherit', env: this.context.env });
      child.on('error', (error) => reject(new CommandFailedError(`cannot run editor ${program}: ${error.message}`)));
      child.on('exit', (code, signal) => {
        if (code === 0) resolve();
        else reject(new CommandFailedError(`editor ${program} exited with ${signal ?? `code ${code}`}; nothing changed`));
      });
    });
  }
}
