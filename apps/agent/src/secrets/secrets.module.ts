import { Module } from '@nestjs/common';
import { SecretsController } from './secrets.controller';
import { SecretsService } from './secrets.service';

/** SetSecret, ListSecrets, RemoveSecret (SPEC §9). */
@Module({
  controllers: [SecretsController],
  providers: [SecretsService],
})
export class SecretsModule {}
