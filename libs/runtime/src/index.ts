export * from './container-runtime';
export * from './container-name';
export type { PodmanRuntimeOptions } from './podman.runtime';
export * from './podman-json';
export * from './podman-errors';
export * from './runtime.module';
export { LiveContainers, type ContainerChange, type ContainerChangeListener } from './live-containers';
export { memoryBytes, parsePortSpec } from './libpod-json';
