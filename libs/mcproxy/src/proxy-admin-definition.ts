import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { isServiceDefinition, MCPROXY_PACKAGE, MCPROXY_PROTO_FILE, MCPROXY_SERVICE, PROTO_LOADER_OPTIONS } from '@mcp/proto';

let cached: grpc.ServiceDefinition | undefined;

/**
 * The mc-proxy admin service definition (method paths and (de)serialisers), loaded once from
 * proto/mc_proxy/v1/admin.proto. The package and service names come only from @mcp/proto.
 * Shared by GrpcRouteRegistrar and the fake mc-proxy used in tests.
 */
export function proxyAdminServiceDefinition(): grpc.ServiceDefinition {
  if (cached) return cached;
  const packageDefinition = protoLoader.loadSync(MCPROXY_PROTO_FILE, {
    ...PROTO_LOADER_OPTIONS,
    includeDirs: [...PROTO_LOADER_OPTIONS.includeDirs],
  });
  const definition = packageDefinition[`${MCPROXY_PACKAGE}.${MCPROXY_SERVICE}`];
  if (!isServiceDefinition(definition)) {
    throw new Error(`${MCPROXY_PACKAGE}.${MCPROXY_SERVICE} not found in ${MCPROXY_PROTO_FILE}`);
  }
  cached = definition;
  return definition;
}

/** The RPCs of ProxyAdminService, by their proto names. */
export type ProxyAdminMethod = 'AddRoute' | 'RemoveRoute' | 'ListRoutes' | 'GetStatus';
