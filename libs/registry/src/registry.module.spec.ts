import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Injectable, Module, type DynamicModule } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { RegistryModule } from './registry.module';
import { ServiceRegistry } from './service-registry';
import { TypeormRegistry } from './typeorm-registry';

/** A feature module that imports the application's registry module object. */
@Injectable()
class Consumer {
  constructor(readonly registry: ServiceRegistry) {}
}

@Module({ providers: [Consumer], exports: [Consumer] })
class ConsumerModule {
  static register(registry: DynamicModule): DynamicModule {
    return { module: ConsumerModule, imports: [registry] };
  }
}

describe(RegistryModule.name, () => {
  let dir: string;

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mcp-registry-module-'));
  });

  afterEach(() => {
    fs.rmSync(dir, { recursive: true, force: true });
  });

  describe('forRoot', () => {
    it('should provide ServiceRegistry as a TypeormRegistry on the given file, to feature modules too', async () => {
      const file = path.join(dir, 'registry.db');
      const registry = RegistryModule.forRoot({ path: file });
      const app = await Test.createTestingModule({ imports: [registry, ConsumerModule.register(registry)] }).compile();
      try {
        const sut = app.get(ServiceRegistry);

        expect(sut).toBeInstanceOf(TypeormRegistry);
        expect(app.get(Consumer).registry).toBe(sut);
        await sut.saveService({ name: 'notes', active: true, components: [] });
        expect(fs.existsSync(file)).toBe(true);
      } finally {
        await app.close();
      }
    });

    it('should export only the port, not the adapter class', async () => {
      const app = await Test.createTestingModule({ imports: [RegistryModule.forRoot({ path: path.join(dir, 'r.db') })] }).compile();
      try {
        expect(() => app.get(TypeormRegistry)).toThrow();
      } finally {
        await app.close();
      }
    });

    it('should close the database when the application shuts down', async () => {
      const app = await Test.createTestingModule({ imports: [RegistryModule.forRoot({ path: path.join(dir, 'r.db') })] }).compile();
      await app.init();
      const sut = app.get(ServiceRegistry);

      await app.close();

      await expect(sut.listServices()).rejects.toThrow('TypeormRegistry is closed');
    });
  });

  describe('overrideProvider', () => {
    it('should let unit tests swap the port for a fake without opening a database', async () => {
      const file = path.join(dir, 'never.db');
      const fake = {} as ServiceRegistry;

      const registry = RegistryModule.forRoot({ path: file });
      const app = await Test.createTestingModule({ imports: [registry, ConsumerModule.register(registry)] })
        .overrideProvider(ServiceRegistry)
        .useValue(fake)
        .compile();
      try {
        expect(app.get(Consumer).registry).toBe(fake);
        expect(fs.existsSync(file)).toBe(false);
      } finally {
        await app.close();
      }
    });
  });
});
