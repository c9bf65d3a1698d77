import * as fs from 'node:fs';
import * as path from 'node:path';
import type * as grpc from '@grpc/grpc-js';
import type * as protoLoader from '@grpc/proto-loader';
import { agentStubFactory, isServiceDefinition } from './agent-service';
import type { MCP_AGENT_SERVICE_NAME as GeneratedServiceName } from './gen/mcp/v1/mcp';

// The generated modules are types only here: their one runtime import is
// @nestjs/microservices (for the generated controller decorators, which nothing uses), and
// loading it cost every `mcp ps` about 15 ms (bench P2, issue #20). Nothing reads their
// values; the agent's decorators take the service name below.
export type * as mcpv1 from './gen/mcp/v1/mcp';
export type * as mcproxyv1 from './gen/mc_proxy/v1/admin';
export type { Timestamp } from './gen/google/protobuf/timestamp';
export * from './agent-service';
/** The generated name's literal type: tsc fails here if the proto renames the service. */
export const MCP_AGENT_SERVICE_NAME: typeof GeneratedServiceName = 'McpAgentService';

/**
 * Where the .proto files are at run time. The same code runs from source (jest), from tsc's
 * dist/ and from the bundled CLI, so look upward for the folder holding mcp/v1/mcp.proto.
 */
function findProtoRoot(): string {
  let dir = __dirname;
  for (let i = 0; i < 6; i++) {
    for (const candidate of [dir, path.join(dir, 'proto')]) {
      if (fs.existsSync(path.join(candidate, 'mcp', 'v1', 'mcp.proto'))) return candidate;
    }
    dir = path.dirname(dir);
  }
  throw new Error(`proto files not found above ${__dirname}`);
}

export const PROTO_ROOT = findProtoRoot();
export const MCP_PROTO_FILE = 'mcp/v1/mcp.proto';
export const MCP_PACKAGE = 'mcp.v1';
export const MCPROXY_PROTO_FILE = 'mc_proxy/v1/admin.proto';
export const MCPROXY_PACKAGE = 'mc_proxy.v1';
export const MCPROXY_SERVICE = 'ProxyAdminService';

/**
 * @grpc/proto-loader options shared by every server and client here. They match the
 * generated types: camelCase fields, 64-bit ints as numbers, defaults filled in, Buffers
 * for bytes, and oneof members as plain optional fields.
 */
export const PROTO_LOADER_OPTIONS = {
  keepCase: false,
  longs: Number,
  enums: String,
  defaults: true,
  arrays: true,
  objects: false,
  oneofs: false,
  includeDirs: [PROTO_ROOT],
} as const;

/**
 * Package, proto file and loader options of the agent API: the one definition the agent's
 * server (main.ts), the CLI and the tests load, so they cannot disagree.
 */
export const AGENT_GRPC_DEFINITION = {
  package: MCP_PACKAGE,
  protoPath: path.join(PROTO_ROOT, MCP_PROTO_FILE),
  loader: { ...PROTO_LOADER_OPTIONS, includeDirs: [...PROTO_LOADER_OPTIONS.includeDirs] },
};

/**
 * McpAgentService's method definitions (paths, serialisers), as the agent's server loads them.
 * `descriptor`: the same .proto files already parsed into protobufjs JSON (the bundled CLI has
 * it inlined by scripts/agent-proto-json.js at build time); absent, the .proto is parsed here.
 */
export function agentServiceDefinition(loader: typeof protoLoader, descriptor?: object): grpc.ServiceDefinition {
  const { package: pkg, protoPath } = AGENT_GRPC_DEFINITION;
  const definition = descriptor ? loader.fromJSON(descriptor, AGENT_GRPC_DEFINITION.loader) : loader.loadSync(protoPath, AGENT_GRPC_DEFINITION.loader);
  const loaded = definition[`${pkg}.${MCP_AGENT_SERVICE_NAME}`];
  if (!isServiceDefinition(loaded)) throw new Error(`${pkg}.${MCP_AGENT_SERVICE_NAME} not found in ${descriptor ? 'the built-in descriptor' : protoPath}`);
  return loaded;
}

/** Makes typed clients of the agent (the CLI's and the tests'); grpc-js and proto-loader are passed in, so they load only when used. */
export function agentStubs(g: typeof grpc, loader: typeof protoLoader, descriptor?: object) {
  return agentStubFactory(g, agentServiceDefinition(loader, descriptor), MCP_AGENT_SERVICE_NAME);
}

/** Protobuf Timestamp <-> Date. */
export function toTimestamp(date: Date | undefined | null): { seconds: number; nanos: number } | undefined {
  if (!date) return undefined;
  const ms = date.getTime();
  return { seconds: Math.floor(ms / 1000), nanos: (ms % 1000) * 1_000_000 };
}

export function fromTimestamp(ts: { seconds: number | string; nanos: number } | undefined | null): Date | undefined {
  if (!ts) return undefined;
  return new Date(Number(ts.seconds) * 1000 + Math.floor(ts.nanos / 1_000_000));
}
