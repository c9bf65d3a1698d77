import { McpError, ValidationError, formatIssue } from '@mcp/common';

/** Exit codes (SPEC §4): 0 success, 1 failure, 2 usage, 3 agent unreachable, 4 not logged in. */
export const ExitCode = {
  ok: 0,
  failure: 1,
  usage: 2,
  unreachable: 3,
  unauthenticated: 4,
} as const;
export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

/** An error the CLI knows how to report: one line (or a list of issues) and an exit code. */
export abstract class CliError extends Error {
  abstract readonly exitCode: ExitCodeValue;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

export class UsageError extends CliError {
  readonly exitCode = ExitCode.usage;
}

export class CommandFailedError extends CliError {
  readonly exitCode = ExitCode.failure;
}

export class AgentUnreachableError extends CliError {
  readonly exitCode = ExitCode.unreachable;
  constructor(
    readonly node: string,
    readonly address: string,
    reason: string,
  ) {
    super(`agent ${node} (${address}) unreachable: ${reason}`);
  }
}

export class TokenRejectedError extends CliError {
  readonly exitCode = ExitCode.unauthenticated;
  constructor(readonly node: string) {
    super(`token rejected by ${node}: run mcp login`);
  }
}

export class NotLoggedInError extends CliError {
  readonly exitCode = ExitCode.unauthenticated;
  constructor() {
    super('not logged in: run mcp login');
  }
}

/** The agent answered with an error (PERMISSION_DENIED, NOT_FOUND, INVALID_ARGUMENT, ...). */
export class AgentCallError extends CliError {
  readonly exitCode = ExitCode.failure;
  constructor(
    readonly node: string,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** Several targets (nodes, components) were tried; some failed. Details were already printed. */
export class PartialFailureError extends CliError {
  constructor(
    message: string,
    readonly exitCode: ExitCodeValue,
  ) {
    super(message);
  }
}

/** Commander's own exits (help, version, parse errors), turned into a value we can return. */
export class CommanderExit extends Error {
  constructor(
    readonly exitCode: number,
    readonly commanderCode: string,
  ) {
    super(commanderCode);
  }
}

export function exitCodeFor(error: unknown): number {
  if (error instanceof CommanderExit) return error.exitCode;
  if (error instanceof CliError) return error.exitCode;
  if (error instanceof McpError) {
    if (error.kind === 'unauthenticated') return ExitCode.unauthenticated;
    return ExitCode.failure;
  }
  return ExitCode.failure;
}

/** The text printed for an error: every validation issue on its own line, else one line. */
export function describeError(error: unknown): string {
  if (error instanceof ValidationError && error.issues.length > 0) {
    return error.issues.map(formatIssue).join('\n');
  }
  if (error instanceof Error) return error.message.split('\n')[0] || error.name;
  return String(error);
}
