import { Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { InvalidArgumentError } from '@mcp/common';

/**
 * A request message that did not decode as its protobuf type. grpc-js answers a decoding
 * failure itself with INTERNAL; the agent's deserializers return this instead, so the bad
 * input reaches the RPC pipeline and is refused as the client's mistake (INVALID_ARGUMENT).
 */
export class MalformedRequest {
  constructor(readonly reason: string) {}
}

export function malformedRequestError(reason: string): InvalidArgumentError {
  return new InvalidArgumentError(`malformed request: ${reason}`);
}

type MethodDefinition = { requestDeserialize?: (bytes: Buffer) => unknown };

/**
 * Wraps every request deserializer of a proto-loader package definition (in place) so that a
 * decoding error yields a MalformedRequest instead of throwing inside grpc-js.
 */
export function tolerateMalformedRequests(definition: Record<string, unknown>): void {
  for (const service of Object.values(definition)) {
    if (!service || typeof service !== 'object') continue;
    for (const method of Object.values(service as Record<string, MethodDefinition>)) {
      const decode = method?.requestDeserialize;
      if (typeof decode !== 'function') continue;
      method.requestDeserialize = (bytes: Buffer) => {
        try {
          return decode(bytes);
        } catch (err) {
          return new MalformedRequest(err instanceof Error ? err.message : String(err));
        }
      };
    }
  }
}

/** Refuses a unary or server-streaming RPC whose request did not decode (after authentication). */
@Injectable()
export class MalformedRequestGuard implements CanActivate {
  canActivate(context: ExecutionContext): boolean {
    const data: unknown = context.switchToRpc().getData();
    if (data instanceof MalformedRequest) throw malformedRequestError(data.reason);
    return true;
  }
}
