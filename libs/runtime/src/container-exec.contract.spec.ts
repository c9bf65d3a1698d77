import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { containerExecContract, LibpodRestRuntime, PodmanRuntime, PodmanService, TEST_IMAGE } from './testing';

jest.setTimeout(60_000);

/** The exec contract (SPEC §12) on both real adapters, against real podman. */
describe('exec on real podman', () => {
  containerExecContract('podman CLI', async () => ({
    sut: new PodmanRuntime({ env: process.env, defaultStopTimeoutSeconds: 0 }),
    image: TEST_IMAGE,
    resizes: false,
  }));

  const work = mkdtempSync(path.join(tmpdir(), 'i21-exec-rest-'));
  const service = new PodmanService({ env: process.env, socketPath: path.join(work, 'podman.sock') });
  let rest: LibpodRestRuntime | undefined;
  afterAll(async () => {
    rest?.close();
    await service.stop();
    rmSync(work, { recursive: true, force: true });
  });
  containerExecContract('libpod REST', async () => {
    rest = new LibpodRestRuntime({ env: process.env, socketPath: await service.start(), defaultStopTimeoutSeconds: 0 });
    return { sut: rest, image: TEST_IMAGE, resizes: true };
  });
});
