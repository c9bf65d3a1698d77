// Deep import: @nestjs/common's index loads every service and pipe (~20 ms of `mcp ps`, bench P2).
import 'reflect-metadata'; // what @nestjs/common's index would have loaded first
import { Injectable } from '@nestjs/common/decorators/core/injectable.decorator';
import { FailedPreconditionError, NotFoundError } from '@mcp/common';
import { readTokenFile, tokenFileModeWarning, writeTokenFile } from '@mcp/auth';
import { CliConfigService } from '../config/cli-config.service';
import { NotLoggedInError } from '../errors';
import { Output } from '../output/output';

/** The operator's bearer token, kept in `[auth] token_path` with mode 0600. */
@Injectable()
export class TokenStore {
  constructor(
    private readonly config: CliConfigService,
    private readonly output: Output,
  ) {}

  get path(): string {
    return this.config.get().auth.tokenPath;
  }

  /** The token (trimmed); NotLoggedInError when there is none. Warns when the file is loose. */
  async read(): Promise<string> {
    let token: string;
    try {
      token = await readTokenFile(this.path);
    } catch (error) {
      if (error instanceof NotFoundError) throw new NotLoggedInError();
      if (error instanceof FailedPreconditionError && /is empty/.test(error.message)) throw new NotLoggedInError();
      throw error;
    }
    const warning = await tokenFileModeWarning(this.path);
    if (warning) this.output.warn(warning);
    return token;
  }

  /** Writes with mode 0600 (folder 0700 when created); returns the path. */
  async save(token: string): Promise<string> {
    await writeTokenFile(this.path, token);
    return this.path;
  }
}
