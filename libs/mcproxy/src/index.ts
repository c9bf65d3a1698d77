export * from './route-registrar';
export * from './proxy-admin-definition';
export * from './grpc-route-registrar';
export * from './noop-route-registrar';
export * from './mcproxy.module';
