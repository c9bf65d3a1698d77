import { Injectable, Module } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { OciModule } from './oci.module';
import { type OciConfigData } from './oci-config';
import { RegistryAuth } from './registry-auth';

@Injectable()
class SettingsSource {
  readonly registry: OciConfigData = {
    authFile: '/srv/mcp/registry-auth.json',
    credentials: [{ server: 'mcr.example.net', username: 'mcp', passwordFile: '/srv/mcp/mcr.password', tlsVerify: true }],
  };
}

@Module({ providers: [SettingsSource], exports: [SettingsSource] })
class SettingsModule {}

describe(OciModule.name, () => {
  describe('forRootAsync', () => {
    it('should build RegistryAuth from options another provider supplies', async () => {
      const moduleRef = await Test.createTestingModule({
        imports: [OciModule.forRootAsync({ imports: [SettingsModule], inject: [SettingsSource], useFactory: (source: SettingsSource) => source.registry })],
      }).compile();

      const sut = moduleRef.get(RegistryAuth);

      expect(sut.authFile).toBe('/srv/mcp/registry-auth.json');
      expect(sut.credentialFor('https://MCR.example.net/')?.username).toBe('mcp');
      expect(sut.credentialFor('docker.io')).toBeUndefined();
    });
  });
});
