import * as fs from 'node:fs';
import { NestFactory } from '@nestjs/core';
import type { INestMicroservice } from '@nestjs/common';
import { ConfigError, type ValidationIssue } from '@mcp/common';
import { AppModule } from './app.module';
import { AgentConfig } from './config/agent-config';
import { devTlsDir, makeTlsFiles } from './config/dev-tls';
import { agentGrpcOptions } from './grpc-options';
import { JsonLogger } from './logging/json-logger';
import { ReleaseMarker } from './upgrade/release-marker';

/**
 * With --dev-tls, missing cert/key files are replaced by a generated CA + server cert next
 * to the database; without it they are config errors.
 */
export async function resolveServerTls(input: { config: AgentConfig; devTls: boolean; logger: JsonLogger }): Promise<AgentConfig> {
  const { config } = input;
  const missing = [
    { key: 'server.tls_cert', file: config.server.tlsCert },
    { key: 'server.tls_key', file: config.server.tlsKey },
  ].filter((entry) => !fs.existsSync(entry.file));
  if (missing.length === 0) return config;
  if (!input.devTls) {
    const issues: ValidationIssue[] = missing.map((entry) => ({ file: config.file, path: entry.key, reason: `${entry.file} does not exist (use --dev-tls for a throwaway certificate)` }));
    throw new ConfigError(issues);
  }
  const dir = devTlsDir(config.database.path);
  const existing = { caCertPath: `${dir}/ca.crt`, certPath: `${dir}/server.crt`, keyPath: `${dir}/server.key` };
  const files = [existing.certPath, existing.keyPath, existing.caCertPath].every((f) => fs.existsSync(f)) ? existing : await makeTlsFiles({ dir });
  input.logger.write('warn', `dev TLS: using a generated certificate; clients must trust the CA at ${files.caCertPath}`, { ca_cert: files.caCertPath });
  return new AgentConfig({ ...config, server: { ...config.server, tlsCert: files.certPath, tlsKey: files.keyPath } });
}

/** Builds and starts the agent's gRPC microservice; logs one "listening on" line when ready. */
export async function startAgentServer(input: { config: AgentConfig; logger: JsonLogger }): Promise<INestMicroservice> {
  const { config, logger } = input;
  if (config.failpoints.length > 0) {
    logger.write('warn', `failpoints armed (test use only): ${config.failpoints.map((f) => `${f.name}=${f.action.kind}`).join(', ')}`);
  }
  const app = await NestFactory.createMicroservice(AppModule.forRoot({ config, logger }), {
    ...agentGrpcOptions(config),
    logger,
  });
  await app.listen();
  logger.write('info', `listening on ${config.server.grpcAddr}`, { addr: config.server.grpcAddr, node: config.agent.nodeName, tls: 'TLSv1.3' });
  // Serving: the release marks itself good once its self-check passes (SPEC §16).
  app.get(ReleaseMarker).start();
  return app;
}
