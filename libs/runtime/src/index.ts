export * from './container-runtime';
export * from './container-name';
export * from './podman.runtime';
export * from './podman-json';
export * from './podman-errors';
export * from './runtime.module';
export * from './libpod-rest.runtime';
export * from './podman.service';
