import { FakeRuntime } from '../../../test/fakes/fake-runtime';
import { containerRuntimeContract } from './testing';
import { PodmanRuntime } from './podman.runtime';

jest.setTimeout(60_000);

const IMAGE = 'localhost/mcp-test/busybox:1.0';
const ABSENT = 'localhost/mcp-test/absent:1.0';

describe(PodmanRuntime.name, () => {
  containerRuntimeContract('real podman', async () => ({
    sut: new PodmanRuntime({ env: process.env, defaultStopTimeoutSeconds: 0 }),
    image: IMAGE,
    absentImage: ABSENT,
  }));
});

describe(FakeRuntime.name, () => {
  containerRuntimeContract('FakeRuntime', async () => ({
    sut: new FakeRuntime({ images: [IMAGE] }),
    image: IMAGE,
    absentImage: ABSENT,
  }));
});
