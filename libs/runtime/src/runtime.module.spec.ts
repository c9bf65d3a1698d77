import { Injectable, Module } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { RuntimeUnavailableError } from '@mcp/common';
import { ContainerRuntime } from './container-runtime';
import { PodmanRuntime } from './podman.runtime';
import { RuntimeModule } from './runtime.module';

@Injectable()
class FakeSettings {
  readonly podmanPath = '/nonexistent/from-settings';
}

@Module({ providers: [FakeSettings], exports: [FakeSettings] })
class SettingsModule {}

describe(RuntimeModule.name, () => {
  describe('forRoot', () => {
    it('should bind ContainerRuntime to PodmanRuntime with the given options', async () => {
      const moduleRef = await Test.createTestingModule({
        imports: [RuntimeModule.forRoot({ podmanPath: '/nonexistent/podman' })],
      }).compile();

      const sut = moduleRef.get(ContainerRuntime);

      expect(sut).toBeInstanceOf(PodmanRuntime);
      const error = await sut.version().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(RuntimeUnavailableError);
      expect((error as RuntimeUnavailableError).message).toBe(
        'container runtime unavailable: /nonexistent/podman: not found',
      );
    });

    it('should not expose the adapter class as a provider', async () => {
      const moduleRef = await Test.createTestingModule({ imports: [RuntimeModule.forRoot()] }).compile();

      expect(() => moduleRef.get(PodmanRuntime, { strict: false })).toThrow();
    });
  });

  describe('forRootAsync', () => {
    it('should build the options from injected providers', async () => {
      const moduleRef = await Test.createTestingModule({
        imports: [
          RuntimeModule.forRootAsync({
            imports: [SettingsModule],
            inject: [FakeSettings],
            useFactory: (settings: FakeSettings) => ({ podmanPath: settings.podmanPath, defaultStopTimeoutSeconds: 3 }),
          }),
        ],
      }).compile();

      const sut = moduleRef.get(ContainerRuntime);

      await expect(sut.list()).rejects.toThrow('container runtime unavailable: /nonexistent/from-settings: not found');
    });
  });
});
