import * as fs from 'node:fs';
import * as path from 'node:path';
import { Test } from '@nestjs/testing';
import { AcmeCertificateProvider, CertificateProvider, ComponentDeployer, ExistingCertificateProvider } from '@mcp/deployer';
import { RegistryAuth } from '@mcp/oci';
import { RouteRegistrar } from '@mcp/mcproxy';
import { ServiceRegistry } from '@mcp/registry';
import { ContainerRuntime } from '@mcp/runtime';
import { FakeRegistrar, FakeRuntime, InMemoryRegistry } from '../../../test/fakes';
import { makeTestConfig, writeTestTokens } from '../../../test/support';
import { AppModule } from './app.module';
import { CertificateRenewalService } from './certificates/certificate-renewal.service';
import { AgentConfig } from './config/agent-config';
import { DeployService } from './deploy/deploy.service';
import { LifecycleService } from './lifecycle/lifecycle.service';
import { ServiceBackupService } from './service-backup/service-backup.service';
import { StatusService } from './status/status.service';
import { JsonLogger } from './logging/json-logger';

describe(AppModule.name, () => {
  async function compile(config: AgentConfig, options: { tokens?: boolean } = {}) {
    if (options.tokens !== false) await writeTestTokens(config);
    return Test.createTestingModule({ imports: [AppModule.forRoot({ config, logger: new JsonLogger('error', () => undefined) })] })
      .overrideProvider(ServiceRegistry)
      .useValue(new InMemoryRegistry())
      .overrideProvider(ContainerRuntime)
      .useValue(new FakeRuntime())
      .overrideProvider(RouteRegistrar)
      .useValue(new FakeRegistrar())
      .compile();
  }

  describe('forRoot', () => {
    it('should wire every feature with certificates expected on disk when [acme] is absent', async () => {
      const config = makeTestConfig();
      const moduleRef = await compile(config);
      expect(moduleRef.get(CertificateProvider)).toBeInstanceOf(ExistingCertificateProvider);
      expect(moduleRef.get(AgentConfig)).toBe(config);
      await moduleRef.close();
      fs.rmSync(path.dirname(config.file), { recursive: true, force: true });
    });

    it('should give every feature the one instance of each platform module, optional dependencies included', async () => {
      const base = makeTestConfig();
      const dir = path.dirname(base.file);
      const config = makeTestConfig({ dir, acme: { directoryUrl: 'https://127.0.0.1:14000/dir', accountKey: path.join(dir, 'acme.key'), renewBeforeMs: 30 * 86_400_000 } });
      const moduleRef = await compile(config);
      const member = (owner: object, name: string): unknown => Reflect.get(owner, name);
      const deploy = moduleRef.get(DeployService);
      const lifecycle = moduleRef.get(LifecycleService);

      // Features never import each other: one lock and one change set only if both import the same deployer module object.
      expect(member(deploy, 'locks')).toBe(member(lifecycle, 'locks'));
      // A backup pauses/stops containers under the same per-service lock as a stop or a deploy.
      expect(member(moduleRef.get(ServiceBackupService), 'locks')).toBe(member(lifecycle, 'locks'));
      expect(member(deploy, 'changes')).toBeDefined();
      expect(member(deploy, 'changes')).toBe(member(lifecycle, 'changes'));
      // @Optional() dependencies are undefined, not an error, when a module is not imported: each is asserted here.
      expect(member(moduleRef.get(StatusService), 'oneOffs')).toBeDefined();
      expect(member(moduleRef.get(ComponentDeployer), 'registryAuth')).toBe(moduleRef.get(RegistryAuth));
      expect(member(moduleRef.get(CertificateRenewalService), 'authority')).toBeDefined();
      await moduleRef.close();
      fs.rmSync(dir, { recursive: true, force: true });
    });

    it('should refuse to start when the static tokens file is missing, naming it', async () => {
      const config = makeTestConfig();

      await expect(compile(config, { tokens: false })).rejects.toThrow(config.auth.tokensFile!);
      fs.rmSync(path.dirname(config.file), { recursive: true, force: true });
    });

    it('should issue l7 certificates through ACME when [acme] is configured', async () => {
      const base = makeTestConfig();
      const dir = path.dirname(base.file);
      const config = makeTestConfig({ dir, acme: { directoryUrl: 'https://127.0.0.1:14000/dir', accountKey: path.join(dir, 'acme.key'), renewBeforeMs: 30 * 86_400_000 } });
      const moduleRef = await compile(config);
      expect(moduleRef.get(CertificateProvider)).toBeInstanceOf(AcmeCertificateProvider);
      await moduleRef.close();
      fs.rmSync(dir, { recursive: true, force: true });
    });
  });
});
