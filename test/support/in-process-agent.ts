import type { INestMicroservice } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { AppModule } from '../../apps/agent/src/app.module';
import type { AgentConfig } from '../../apps/agent/src/config/agent-config';
import { agentGrpcOptions } from '../../apps/agent/src/grpc-options';
import { JsonLogger } from '../../apps/agent/src/logging/json-logger';

export interface ProviderOverride {
  provide: unknown;
  useValue: unknown;
}

export interface InProcessAgent {
  app: INestMicroservice;
  address: string;
  /** Log lines the agent wrote (JSON objects). */
  lines: Array<Record<string, unknown>>;
  close(): Promise<void>;
}

/**
 * The real AppModule as a real gRPC server over TLS, in this process, with chosen ports
 * swapped (e.g. a FakeRuntime instead of podman). TLS files must exist (makeTlsFixture).
 */
export async function startInProcessAgent(input: { config: AgentConfig; overrides?: ProviderOverride[] }): Promise<InProcessAgent> {
  const lines: Array<Record<string, unknown>> = [];
  const logger = new JsonLogger(input.config.log.level, (line) => lines.push(JSON.parse(line) as Record<string, unknown>));
  let builder = Test.createTestingModule({ imports: [AppModule.forRoot({ config: input.config, logger })] });
  for (const override of input.overrides ?? []) {
    builder = builder.overrideProvider(override.provide).useValue(override.useValue);
  }
  const moduleRef = await builder.compile();
  const app = moduleRef.createNestMicroservice(agentGrpcOptions(input.config));
  app.useLogger(logger);
  await app.listen();
  return { app, address: input.config.server.grpcAddr, lines, close: () => app.close() };
}
