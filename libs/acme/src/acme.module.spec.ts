import { Injectable } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { AcmeModule } from './acme.module';
import { type AcmeConfigData } from './acme-config';
import { CertificateAuthority } from './certificate-authority';
import { CertificateManager } from './certificate-manager';

@Injectable()
class SettingsSource {
  readonly acme: AcmeConfigData = {
    directoryUrl: 'https://ca.example.net/acme/directory',
    accountKeyPath: '/srv/mcp/acme.key',
    renewBeforeMs: 30 * 24 * 3600 * 1000,
    certDir: '/srv/mc-proxy/certs',
  };
}

describe(AcmeModule.name, () => {
  describe('forRoot', () => {
    it('should bind the CertificateAuthority port to the ACME adapter', async () => {
      const moduleRef = await Test.createTestingModule({
        imports: [AcmeModule.forRoot(new SettingsSource().acme)],
      }).compile();

      expect(moduleRef.get(CertificateAuthority)).toBeInstanceOf(CertificateManager);
    });
  });
});
