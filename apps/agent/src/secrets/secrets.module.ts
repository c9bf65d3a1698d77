import { Module, type DynamicModule } from '@nestjs/common';
import { SecretsController } from './secrets.controller';
import { SecretsService } from './secrets.service';
import type { Platform } from '../platform.module';

/** SetSecret, ListSecrets, RemoveSecret (SPEC §9). */
@Module({
  controllers: [SecretsController],
  providers: [SecretsService],
})
export class SecretsModule {
  /** With the platform modules its providers inject. */
  static register(platform: Platform): DynamicModule {
    return { module: SecretsModule, imports: [platform.registry, platform.runtime, platform.deployer] };
  }
}
