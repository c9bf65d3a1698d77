import { Metadata, type ServerDuplexStream } from '@grpc/grpc-js';
import { Injectable } from '@nestjs/common';
import { InvalidArgumentError, NotFoundError, ServiceNotFoundError } from '@mcp/common';
import type { mcpv1 } from '@mcp/proto';
import { ServiceRegistry } from '@mcp/registry';
import { componentContainerName, ContainerRuntime, type ExecSession } from '@mcp/runtime';
import { noteAuditTarget } from '../logging/audit';

export type ExecCall = ServerDuplexStream<mcpv1.ExecRequest, mcpv1.ExecResponse>;

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

  async exec(call: ExecCall): Promise<void> {
    // Not the default iterator: that destroys the call when the client half-closes (end of
    // input), which would cut the output still to come.
    const messages = (call.iterator({ destroyOnReturn: false }) as AsyncIterableIterator<mcpv1.ExecRequest>)[Symbol.asyncIterator]();
    const first = await this.firstMessage(messages, call);
    const start = first.start;
    if (!start) throw new InvalidArgumentError('the first Exec message must be the start (service, component, cmd)');
    const container = await this.container(start.service, start.component);
    noteAuditTarget(call, { service: start.service, component: start.component || undefined, argv: start.cmd });
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
    // The response headers tell the client the command started; from here on, no deadline.
    call.sendMetadata(new Metadata());
    let cancelled = false;
    const onCancel = (): void => {
      cancelled = true;
      void session.close();
    };
    call.on('cancelled', onCancel);
    call.on('error', onCancel);
    try {
      const input = this.pumpInput(messages, session, start.interactive).catch(() => session.close());
      for await (const chunk of session.output) {
        if (cancelled) throw new ExecCancelledError();
        await write(call, chunk.stream === 'stdout' ? { stdout: chunk.data } : { stderr: chunk.data });
      }
      if (cancelled) throw new ExecCancelledError();
      const exitCode = await session.exitCode();
      await write(call, { exitCode });
      call.end();
      void input;
    } catch (error) {
      await session.close();
      throw cancelled ? new ExecCancelledError() : error;
    } finally {
      call.off('cancelled', onCancel);
    }
  }

  private async firstMessage(messages: AsyncIterator<mcpv1.ExecRequest>, call: ExecCall): Promise<mcpv1.ExecRequest> {
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
  private async pumpInput(messages: AsyncIterator<mcpv1.ExecRequest>, session: ExecSession, interactive: boolean): Promise<void> {
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

function checkSize(size: mcpv1.TerminalSize): { rows: number; cols: number } {
  if (!(size.rows > 0 && size.cols > 0 && size.rows <= MAX_TERMINAL_CELLS && size.cols <= MAX_TERMINAL_CELLS)) {
    throw new InvalidArgumentError(`terminal size ${size.rows}x${size.cols} is out of range (1-${MAX_TERMINAL_CELLS})`);
  }
  return { rows: size.rows, cols: size.cols };
}

/**
 * One message; waits for the call to drain when its buffer is full, or fails when it is
 * cancelled meanwhile. Both listeners go once either fires (a `once()` promise per wait that
 * never settled left a 'cancelled' and an 'error' listener behind at every wait: thousands in
 * a large exec, each removal scanning them all).
 */
async function write(call: ExecCall, message: mcpv1.ExecResponse): Promise<void> {
  if (call.cancelled || call.destroyed) throw new ExecCancelledError();
  if (call.write(message)) return;
  await new Promise<void>((resolve, reject) => {
    const settle = (error?: Error): void => {
      call.off('drain', onDrain);
      call.off('cancelled', onCancelled);
      call.off('close', onCancelled);
      if (error) reject(error);
      else resolve();
    };
    const onDrain = (): void => settle();
    const onCancelled = (): void => settle(new ExecCancelledError());
    call.on('drain', onDrain);
    call.on('cancelled', onCancelled);
    call.on('close', onCancelled);
  });
}
