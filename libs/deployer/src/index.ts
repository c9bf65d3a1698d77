export * from './deployer-options';
export * from './keyed-mutex';
export * from './port-allocator';
export * from './route.service';
export * from './certificate-provider';
export * from './container-ops';
export * from './component-deployer';
export * from './deployer.module';
