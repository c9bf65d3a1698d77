import { Injectable } from '@nestjs/common';
import { InvalidArgumentError, NotFoundError, ServiceNotFoundError, type ExecStart, type TerminalSize } from '@mcp/common';
import { ServiceRegistry } from '@mcp/registry';
import { componentContainerName, ContainerRuntime, type ExecSession } from '@mcp/runtime';
import type { AuditTarget } from '../logging/audit';

export type { ExecStart, TerminalSize } from '@mcp/common';

/** One message from the client: the start first, then stdin, its end and resizes, in order. */
export interface ExecInput {
  start?: ExecStart;
  stdin?: Buffer;
  stdinClosed?: object;
  resize?: TerminalSize;
}

/** One message to the client: output, then the exit status last. */
export type ExecOutput = { stdout: Buffer } | { stderr: Buffer } | { exitCode: number };

/** One Exec call as ExecService sees it; ExecController adapts the grpc-js duplex stream to it. */
export interface ExecChannel {
  /** The client's messages; done when the client half-closes. */
  readonly input: AsyncIterator<ExecInput>;
  /** The client cancelled (or the call broke). */
  readonly cancelled: boolean;
  /** Names the call's target in its audit line. */
  audit(target: AuditTarget): void;
  /** The command started (the response headers): the client's deadline ends here. */
  started(): void;
  /** One message, once the client has room for it; ExecCancelledError when it went away meanwhile. */
  send(message: ExecOutput): Promise<void>;
  /** The last message was sent. */
  end(): void;
  /** Calls `listener` when the client cancels or the call fails; answers the removal. */
  onCancel(listener: () => void): () => void;
}

/** Longest argv accepted, in bytes all told (podman's own limit is the kernel's, far larger). */
const MAX_ARGV_BYTES = 128 * 1024;
/** Largest terminal side accepted. */
const MAX_TERMINAL_CELLS = 10_000;

/** The client went away (or cancelled): nothing more to send. */
export class ExecCancelledError extends Error {
  constructor() {
    super('the client cancelled the exec call');
    this.name = ExecCancelledError.name;
  }
}

/**
 * SPEC §12 `mcp exec`: one bidirectional call per command. The first message names the
 * component and the argv; the container must be running (the runtime says so otherwise).
 * Input messages are applied in order and the call is read only as fast as the command takes
 * its stdin; output is written only as fast as the client takes it (each write awaits the
 * call's drain), so memory is bounded both ways. No deadline: keepalive finds a dead peer,
 * and a call that ends (cancelled, broken) closes the session, which kills the command.
 */
@Injectable()
export class ExecService {
  constructor(
    private readonly registry: ServiceRegistry,
    private readonly runtime: ContainerRuntime,
  ) {}

  async exec(call: ExecChannel): Promise<void> {
    const messages = call.input;
    const first = await this.firstMessage(messages, call);
    const start = first.start;
    if (!start) throw new InvalidArgumentError('the first Exec message must be the start (service, component, cmd)');
    const container = await this.container(start.service, start.component);
    call.audit({ service: start.service, component: start.component || undefined, argv: start.cmd });
    checkArgv(start.cmd);
    const size = start.tty && start.size ? checkSize(start.size) : undefined;
    if (call.cancelled) throw new ExecCancelledError();
    const session = await this.runtime.exec({
      name: container,
      cmd: [...start.cmd],
      stdin: start.interactive,
      tty: start.tty,
      user: start.user || undefined,
      workdir: start.workdir || undefined,
      size,
    });
    // The client learns the command started; from here on, no deadline.
    call.started();
    let cancelled = false;
    const stopListening = call.onCancel(() => {
      cancelled = true;
      void session.close();
    });
    try {
      const input = this.pumpInput(messages, session, start.interactive).catch(() => session.close());
      for await (const chunk of session.output) {
        if (cancelled) throw new ExecCancelledError();
        await call.send(chunk.stream === 'stdout' ? { stdout: chunk.data } : { stderr: chunk.data });
      }
      if (cancelled) throw new ExecCancelledError();
      const exitCode = await session.exitCode();
      await call.send({ exitCode });
      call.end();
      void input;
    } catch (error) {
      await session.close();
      throw cancelled ? new ExecCancelledError() : error;
    } finally {
      stopListening();
    }
  }

  private async firstMessage(messages: AsyncIterator<ExecInput>, call: ExecChannel): Promise<ExecInput> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new InvalidArgumentError('no Exec start message within 10s')), 10_000);
    });
    try {
      const next = await Promise.race([messages.next(), timeout]);
      if (next.done) throw call.cancelled ? new ExecCancelledError() : new InvalidArgumentError('an Exec call must start with its start message');
      return next.value;
    } finally {
      clearTimeout(timer);
    }
  }

  /** stdin, its end and resizes, in order; each write awaits the command taking the bytes. */
  private async pumpInput(messages: AsyncIterator<ExecInput>, session: ExecSession, interactive: boolean): Promise<void> {
    for (let next = await messages.next(); !next.done; next = await messages.next()) {
      const message = next.value;
      if (message.stdin !== undefined) {
        if (interactive) await session.write(message.stdin);
      } else if (message.stdinClosed !== undefined) {
        session.endInput();
      } else if (message.resize !== undefined) {
        const size = checkSize(message.resize);
        await session.resize(size).catch(() => false);
      }
    }
    // The client half-closed: no more input.
    session.endInput();
  }

  /** The named component's container; the service's only component when none is named. */
  private async container(service: string, component: string): Promise<string> {
    if (!service) throw new InvalidArgumentError('exec needs a service');
    const record = await this.registry.getService(service);
    if (!record) throw new ServiceNotFoundError(service);
    const chosen = component
      ? record.components.find((candidate) => candidate.name === component)
      : record.components.length === 1
        ? record.components[0]
        : undefined;
    if (!chosen) {
      if (!component) {
        throw new InvalidArgumentError(`service "${service}" has ${record.components.length} components: name one (${service}/<component>)`);
      }
      throw new NotFoundError(`component "${service}/${component}" not found (components: ${record.components.map((c) => c.name).join(', ')})`);
    }
    return componentContainerName(chosen);
  }
}

function checkArgv(cmd: string[]): void {
  if (cmd.length === 0) throw new InvalidArgumentError('exec needs a command (mcp exec svc/comp -- CMD [ARG...])');
  if (cmd.some((arg) => arg.includes('\0'))) throw new InvalidArgumentError('a command argument contains a NUL byte');
  if (cmd.reduce((total, arg) => total + Buffer.byteLength(arg) + 1, 0) > MAX_ARGV_BYTES) {
    throw new InvalidArgumentError(`the command is longer than ${MAX_ARGV_BYTES} bytes`);
  }
}

function checkSize(size: TerminalSize): TerminalSize {
  if (!(size.rows > 0 && size.cols > 0 && size.rows <= MAX_TERMINAL_CELLS && size.cols <= MAX_TERMINAL_CELLS)) {
    throw new InvalidArgumentError(`terminal size ${size.rows}x${size.cols} is out of range (1-${MAX_TERMINAL_CELLS})`);
  }
  return { rows: size.rows, cols: size.cols };
}
