/**
 * `@mcp/runtime/testing`: for tests and benches only. The contract suite every
 * ContainerRuntime adapter (and the fake) must pass, and the adapters themselves, which the
 * lib's index keeps private (production code gets the port from RuntimeModule).
 */
export { containerRuntimeContract } from './container-runtime.contract';
export { containerExecContract, drainSession } from './container-exec.contract';
export { PodmanRuntime } from '../podman.runtime';
export { LibpodRestRuntime } from '../libpod-rest.runtime';
export { PodmanService, defaultPodmanSockets } from '../podman.service';
export { ABSENT_IMAGE, collectLogs, freePort, pause, RealPodmanFixture, TEST_IMAGE } from './real-podman';
