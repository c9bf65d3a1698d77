import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Test } from '@nestjs/testing';
import { CertificateAuthority, type CertificateTarget, type EnsuredCertificate, type RenewalResult } from '@mcp/acme';
import { CertificateError } from '@mcp/common';
import { AcmeCertificateProvider, CertificateProvider, ExistingCertificateProvider } from './certificate-provider';
import { DeployerOptions } from './deployer-options';
import { deployerProviders } from './deployer.module';

/** Strict: only ensureCertificate is expected. */
class FakeAuthority extends CertificateAuthority {
  readonly asked: CertificateTarget[] = [];
  async ensureCertificate(target: CertificateTarget): Promise<EnsuredCertificate> {
    this.asked.push(target);
    return { certPath: `/certs/${target.service}.pem`, keyPath: `/certs/${target.service}.key`, notAfter: new Date('2027-01-01'), issued: true };
  }
  async checkRenewals(): Promise<RenewalResult[]> {
    throw new Error('unexpected checkRenewals');
  }
}

const OPTIONS = { bindAddress: '127.0.0.1', routeBindAddress: '127.0.0.1', routeDomain: 'svc.test', portRangeStart: 20000, portRangeEnd: 20010, stopTimeoutSeconds: 1 };

describe(ExistingCertificateProvider.name, () => {
  let dir: string;
  beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mcp-certs-'))));
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  describe('ensure', () => {
    it('should return the paths mc-proxy reads when both files exist', async () => {
      fs.writeFileSync(path.join(dir, 'web.pem'), 'c');
      fs.writeFileSync(path.join(dir, 'web.key'), 'k');
      const sut = new ExistingCertificateProvider(new DeployerOptions({ ...OPTIONS, certDir: dir }));
      await expect(sut.ensure({ service: 'web', hostname: 'web.svc.test' })).resolves.toEqual({ certPath: path.join(dir, 'web.pem'), keyPath: path.join(dir, 'web.key') });
    });

    it('should fail with CertificateError naming the missing file', async () => {
      fs.writeFileSync(path.join(dir, 'web.pem'), 'c');
      const sut = new ExistingCertificateProvider(new DeployerOptions({ ...OPTIONS, certDir: dir }));
      const attempt = sut.ensure({ service: 'web', hostname: 'web.svc.test' });
      await expect(attempt).rejects.toThrow(CertificateError);
      await expect(sut.ensure({ service: 'web', hostname: 'web.svc.test' })).rejects.toThrow(path.join(dir, 'web.key'));
    });
  });
});

describe(AcmeCertificateProvider.name, () => {
  it('should be chosen when a CertificateAuthority is provided, and ask it per hostname', async () => {
    const authority = new FakeAuthority();
    const moduleRef = await Test.createTestingModule({
      providers: [
        // Only the two providers in play (the rest need ports this test does not touch).
        ...deployerProviders({ ...OPTIONS, certDir: '/certs' }).filter((p) => typeof p === 'object' && 'provide' in p && (p.provide === DeployerOptions || p.provide === CertificateProvider)),
        { provide: CertificateAuthority, useValue: authority },
      ],
    }).compile();
    const sut = moduleRef.get(CertificateProvider);
    expect(sut).toBeInstanceOf(AcmeCertificateProvider);
    await expect(sut.ensure({ service: 'web', hostname: 'web.example.net' })).resolves.toEqual({ certPath: '/certs/web.pem', keyPath: '/certs/web.key' });
    expect(authority.asked).toEqual([{ service: 'web', hostname: 'web.example.net' }]);
  });
});
