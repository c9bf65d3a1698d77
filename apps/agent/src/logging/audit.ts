import { Injectable } from '@nestjs/common';
import type { Caller } from '@mcp/auth';
import { AgentMetrics } from '@mcp/metrics';
import { CALLER_KEY, RPC_START_KEY } from '../grpc-call';
import { JsonLogger } from './json-logger';

/** Set on the call object once the RPC has been audited, so it is logged exactly once. */
export const AUDITED_KEY = Symbol.for('mcp.audited');
/** Optional target a streaming handler learns late (e.g. PushFile's header). */
export const AUDIT_TARGET_KEY = Symbol.for('mcp.audit-target');

export interface AuditTarget {
  service?: string;
  component?: string;
  /** The command an Exec ran (never its environment or input). */
  argv?: string[];
  /** The image reference of an image push (SPEC §13). */
  image?: string;
  /** The secret whose value ReadSecretForMove returned (its name; never the value), and where it goes. */
  secret?: string;
  toNode?: string;
}

type CallHolder = Record<symbol, unknown> & { getPath?: () => string; request?: unknown };

/** Streaming handlers call this once they know which service they act on. */
export function noteAuditTarget(call: object, target: AuditTarget): void {
  (call as CallHolder)[AUDIT_TARGET_KEY] = target;
}

/**
 * Writes the one audit line per RPC, and counts its duration by method and code in the metrics:
 * `{"msg":"rpc","method","caller","service","component","code","duration_ms"}`.
 * Never the token, never request payloads beyond the target names.
 */
@Injectable()
export class AuditLog {
  constructor(
    private readonly logger: JsonLogger,
    private readonly metrics: AgentMetrics,
  ) {}

  record(input: { call: object | undefined; request?: unknown; code: string; fallbackMethod?: string }): void {
    const call = input.call as CallHolder | undefined;
    if (call) {
      if (call[AUDITED_KEY]) return;
      call[AUDITED_KEY] = true;
    }
    const caller = call?.[CALLER_KEY] as Caller | undefined;
    const started = call?.[RPC_START_KEY] as number | undefined;
    const target = { ...targetOf(input.request ?? call?.request), ...((call?.[AUDIT_TARGET_KEY] as AuditTarget | undefined) ?? {}) };
    const method = methodOf(call) ?? input.fallbackMethod ?? 'unknown';
    const durationMs = started === undefined ? 0 : Date.now() - started;
    this.metrics.rpcFinished({ method, code: input.code, seconds: durationMs / 1000 });
    this.logger.write(input.code === 'OK' ? 'info' : 'warn', 'rpc', {
      method,
      caller: caller ? caller.username || caller.subject : '',
      // Names come from the caller: bounded, so a hostile request cannot bloat the log.
      service: (target.service ?? '').slice(0, 256),
      component: (target.component ?? '').slice(0, 256),
      ...(target.argv ? { argv: boundedArgv(target.argv) } : {}),
      ...(target.image ? { image: target.image.slice(0, 256) } : {}),
      ...(target.secret ? { secret: target.secret.slice(0, 256), to_node: (target.toNode ?? '').slice(0, 256) } : {}),
      code: input.code,
      duration_ms: durationMs,
    });
  }
}

function methodOf(call: CallHolder | undefined): string | undefined {
  try {
    const full = call?.getPath?.();
    return full ? full.slice(full.lastIndexOf('/') + 1) : undefined;
  } catch {
    return undefined;
  }
}

function targetOf(request: unknown): AuditTarget {
  if (!request || typeof request !== 'object') return {};
  const body = request as { service?: unknown; component?: unknown };
  const service =
    typeof body.service === 'string'
      ? body.service
      : body.service && typeof body.service === 'object' && typeof (body.service as { name?: unknown }).name === 'string'
        ? (body.service as { name: string }).name
        : undefined;
  const component = typeof body.component === 'string' ? body.component : undefined;
  // ReadSecretForMove: the secret's name and the node it goes to (the value is in the answer, never here).
  const secret = body as { name?: unknown; toNode?: unknown };
  const forMove = typeof secret.toNode === 'string' && typeof secret.name === 'string' ? { secret: secret.name, toNode: secret.toNode } : {};
  return { service: service || undefined, component: component || undefined, ...forMove };
}

/** At most 64 arguments of 256 characters each: the caller chooses them. */
function boundedArgv(argv: string[]): string[] {
  const kept = argv.slice(0, 64).map((arg) => arg.slice(0, 256));
  return argv.length > kept.length ? [...kept, `… ${argv.length - kept.length} more`] : kept;
}
