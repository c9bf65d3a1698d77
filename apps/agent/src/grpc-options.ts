import * as fs from 'node:fs';
import type { SecureContextOptions } from 'node:tls';
import { ServerCredentials } from '@grpc/grpc-js';
import { Transport, type GrpcOptions } from '@nestjs/microservices';
import { AGENT_GRPC_DEFINITION } from '@mcp/proto';
import type { AgentConfig } from './config/agent-config';
import { tolerateMalformedRequests } from './errors/malformed-request';

/** The minimum TLS version the agent accepts (SPEC: TLS 1.3 only). */
export const AGENT_MIN_TLS_VERSION = 'TLSv1.3' as const;

/**
 * grpc-js's `createSsl` takes no minimum protocol version; its ServerCredentials base class
 * passes secure-context options straight to http2.createSecureServer, so this subclass pins
 * TLS 1.3 on the agent's server itself (independent of tls.DEFAULT_MIN_VERSION).
 */
export class Tls13ServerCredentials extends ServerCredentials {
  constructor(input: { cert: Buffer; key: Buffer }) {
    const options: SecureContextOptions = { cert: input.cert, key: input.key, minVersion: AGENT_MIN_TLS_VERSION };
    super({ minVersion: AGENT_MIN_TLS_VERSION, requestCert: false }, options);
  }

  _equals(other: ServerCredentials): boolean {
    return this === other;
  }
}

/** The agent's gRPC microservice options: mcp.v1 over TLS 1.3 on `server.grpc_addr`. */
export function agentGrpcOptions(config: Pick<AgentConfig, 'server'>): GrpcOptions {
  return {
    transport: Transport.GRPC,
    options: {
      ...AGENT_GRPC_DEFINITION,
      url: config.server.grpcAddr,
      credentials: new Tls13ServerCredentials({
        cert: fs.readFileSync(config.server.tlsCert),
        key: fs.readFileSync(config.server.tlsKey),
      }),
      // In-flight RPCs finish on shutdown (main.ts bounds the wait).
      gracefulShutdown: true,
      // Undecodable requests become INVALID_ARGUMENT, not grpc-js's INTERNAL.
      onLoadPackageDefinition: (definition) => tolerateMalformedRequests(definition),
    },
  };
}
