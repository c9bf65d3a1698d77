import { Injectable } from '@nestjs/common';
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

describe(OciModule.name, () => {
  describe('forRoot', () => {
    it('should build RegistryAuth from its options', async () => {
      const moduleRef = await Test.createTestingModule({
        imports: [OciModule.forRoot(new SettingsSource().registry)],
      }).compile();

      const sut = moduleRef.get(RegistryAuth);

      expect(sut.authFile).toBe('/srv/mcp/registry-auth.json');
      expect(sut.credentialFor('https://MCR.example.net/')?.username).toBe('mcp');
      expect(sut.credentialFor('docker.io')).toBeUndefined();
    });
  });
});
