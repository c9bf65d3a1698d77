import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { InMemoryRegistry } from '../../../test/fakes/in-memory-registry';
import { serviceRegistryContract } from './testing';
import { TypeormRegistry } from './typeorm-registry';

describe(TypeormRegistry.name, () => {
  const dirs = new Map<object, string>();
  serviceRegistryContract(
    async (clock) => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mcp-registry-contract-'));
      const sut = await TypeormRegistry.open({ path: path.join(dir, 'registry.db'), clock });
      dirs.set(sut, dir);
      return sut;
    },
    async (sut) => {
      await sut.close();
      fs.rmSync(dirs.get(sut)!, { recursive: true, force: true });
      dirs.delete(sut);
    },
  );
});

describe(InMemoryRegistry.name, () => {
  serviceRegistryContract(
    async (clock) => new InMemoryRegistry({ clock }),
    async (sut) => sut.close(),
  );
});
