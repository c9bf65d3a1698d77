import { Module } from '@nestjs/common';
import { ExecController } from './exec.controller';
import { ExecService } from './exec.service';
import { RunService } from './run.service';

/** Exec and Run: commands inside running containers, and one-off containers (SPEC §12). */
@Module({
  controllers: [ExecController],
  providers: [ExecService, RunService],
})
export class ExecModule {}
