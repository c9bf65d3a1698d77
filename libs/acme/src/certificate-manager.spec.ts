import { X509Certificate, createPrivateKey, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Test } from '@nestjs/testing';
import { CertificateError, Clock } from '@mcp/common';
import { type TestPebble, startPebble } from '../../../test/servers/pebble';
import { AcmeModule } from './acme.module';
import { AcmeConfig, type AcmeConfigData } from './acme-config';
import { CertificateAuthority } from './certificate-authority';
import { CertificateManager } from './certificate-manager';
import { type ChallengeInput, ChallengeResponder } from './challenge-responder';

const DAY = 24 * 60 * 60 * 1000;

/** A clock the test moves by hand. */
class ManualClock extends Clock {
  constructor(private current: Date) {
    super();
  }
  now(): Date {
    return new Date(this.current);
  }
  set(date: Date): void {
    this.current = date;
  }
}

/** Records what the manager asked to publish and withdraw. */
class RecordingResponder extends ChallengeResponder {
  readonly calls: Array<{ op: 'create' | 'remove' } & ChallengeInput> = [];
  async create(input: ChallengeInput): Promise<void> {
    this.calls.push({ op: 'create', ...input });
  }
  async remove(input: ChallengeInput): Promise<void> {
    this.calls.push({ op: 'remove', ...input });
  }
}

async function makeSut(config: AcmeConfigData, clock: Clock): Promise<CertificateAuthority> {
  const moduleRef = await Test.createTestingModule({ imports: [AcmeModule.forRoot(config)] })
    .overrideProvider(Clock)
    .useValue(clock)
    .compile();
  return moduleRef.get(CertificateAuthority);
}

function readCert(file: string): X509Certificate {
  return new X509Certificate(fs.readFileSync(file));
}

describe(CertificateManager.name, () => {
  let dir: string;
  let clock: ManualClock;

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mcp-acme-'));
    clock = new ManualClock(new Date());
  });

  afterEach(() => {
    fs.rmSync(dir, { recursive: true, force: true });
  });

  describe('constructor', () => {
    it('should refuse an EAB key id without its HMAC', () => {
      const config = new AcmeConfig({
        directoryUrl: 'https://127.0.0.1:1/dir',
        accountKeyPath: path.join(dir, 'account.key'),
        eabKid: 'kid-only',
        renewBeforeMs: 30 * DAY,
        certDir: path.join(dir, 'certs'),
      });

      expect(() => new CertificateManager(config, clock, new RecordingResponder())).toThrow(CertificateError);
    });
  });

  describe('with a real pebble, no EAB', () => {
    let pebble: TestPebble;

    beforeAll(async () => {
      pebble = await startPebble();
    });

    afterAll(async () => {
      await pebble?.close();
    });

    const config = (overrides: Partial<AcmeConfigData> = {}): AcmeConfigData => ({
      directoryUrl: pebble.directoryUrl,
      caCert: pebble.caCertPath,
      accountKeyPath: path.join(dir, 'acme', 'account.key'),
      email: 'ops@mcp-test.example',
      renewBeforeMs: 30 * DAY,
      certDir: path.join(dir, 'certs'),
      requestRetries: 0,
      ...overrides,
    });

    describe('ensureCertificate', () => {
      it('should issue a certificate whose SAN is the hostname, with the key 0600 and the chain 0644', async () => {
        const sut = await makeSut(config(), clock);

        const result = await sut.ensureCertificate({ service: 'web', hostname: 'web.mcp-test.example' });

        expect(result).toEqual({
          certPath: path.join(dir, 'certs', 'web.pem'),
          keyPath: path.join(dir, 'certs', 'web.key'),
          notAfter: expect.any(Date),
          issued: true,
        });
        const cert = readCert(result.certPath);
        expect(cert.subjectAltName).toBe('DNS:web.mcp-test.example');
        expect(cert.checkPrivateKey(createPrivateKey(fs.readFileSync(result.keyPath)))).toBe(true);
        expect(new Date(cert.validTo).getTime()).toBe(result.notAfter.getTime());
        expect(fs.readFileSync(result.certPath, 'utf8').match(/BEGIN CERTIFICATE/g)?.length).toBeGreaterThanOrEqual(2);
        expect(fs.statSync(result.keyPath).mode & 0o777).toBe(0o600);
        expect(fs.statSync(result.certPath).mode & 0o777).toBe(0o644);
        expect(fs.statSync(path.join(dir, 'acme', 'account.key')).mode & 0o777).toBe(0o600);
        expect(fs.readdirSync(path.join(dir, 'certs')).sort()).toEqual(['web.key', 'web.pem']);
      });

      it('should do nothing when a valid certificate for the hostname exists', async () => {
        const sut = await makeSut(config(), clock);
        const first = await sut.ensureCertificate({ service: 'web', hostname: 'web.mcp-test.example' });
        const serial = readCert(first.certPath).serialNumber;

        const second = await sut.ensureCertificate({ service: 'web', hostname: 'web.mcp-test.example' });

        expect(second).toEqual({ ...first, issued: false });
        expect(readCert(second.certPath).serialNumber).toBe(serial);
      });

      it('should issue a new certificate when the key on disk does not belong to the certificate', async () => {
        const sut = await makeSut(config(), clock);
        const first = await sut.ensureCertificate({ service: 'web', hostname: 'web.mcp-test.example' });
        const other = await sut.ensureCertificate({ service: 'other', hostname: 'other.mcp-test.example' });
        fs.copyFileSync(other.keyPath, first.keyPath);

        const result = await sut.ensureCertificate({ service: 'web', hostname: 'web.mcp-test.example' });

        expect(result.issued).toBe(true);
        expect(readCert(result.certPath).checkPrivateKey(createPrivateKey(fs.readFileSync(result.keyPath)))).toBe(true);
      });

      it('should issue a new certificate when the hostname changed', async () => {
        const sut = await makeSut(config(), clock);
        await sut.ensureCertificate({ service: 'web', hostname: 'old.mcp-test.example' });

        const result = await sut.ensureCertificate({ service: 'web', hostname: 'new.mcp-test.example' });

        expect(result.issued).toBe(true);
        expect(readCert(result.certPath).subjectAltName).toBe('DNS:new.mcp-test.example');
      });

      it('should create the account key once and reuse it', async () => {
        await (await makeSut(config(), clock)).ensureCertificate({ service: 'a', hostname: 'a.mcp-test.example' });
        const key = fs.readFileSync(path.join(dir, 'acme', 'account.key'));

        await (await makeSut(config(), clock)).ensureCertificate({ service: 'b', hostname: 'b.mcp-test.example' });

        expect(fs.readFileSync(path.join(dir, 'acme', 'account.key'))).toEqual(key);
      });

      it('should fail with CertificateError and write nothing when the CA TLS certificate is not trusted', async () => {
        const sut = await makeSut(config({ caCert: undefined }), clock);

        const error = await sut.ensureCertificate({ service: 'web', hostname: 'web.mcp-test.example' }).catch((e: unknown) => e);

        expect(error).toBeInstanceOf(CertificateError);
        expect((error as Error).message).toContain(pebble.directoryUrl);
        expect(fs.readdirSync(dir)).toEqual([]);
      });

      it('should fail with CertificateError naming a missing ca_cert file', async () => {
        const sut = await makeSut(config({ caCert: path.join(dir, 'missing-ca.pem') }), clock);

        await expect(sut.ensureCertificate({ service: 'web', hostname: 'web.mcp-test.example' })).rejects.toThrow(
          `acme: cannot read ca_cert ${path.join(dir, 'missing-ca.pem')} (ENOENT)`,
        );
        expect(fs.readdirSync(dir)).toEqual([]);
      });
    });

    describe('challenge responder', () => {
      it('should publish the http-01 key authorization and remove it afterwards', async () => {
        const moduleRef = await Test.createTestingModule({ imports: [AcmeModule.forRoot(config(), { challengeResponder: RecordingResponder })] })
          .overrideProvider(Clock)
          .useValue(clock)
          .compile();
        const sut = moduleRef.get(CertificateAuthority);
        const responder = moduleRef.get(ChallengeResponder) as RecordingResponder;

        await sut.ensureCertificate({ service: 'chal', hostname: 'chal.mcp-test.example' });

        expect(responder.calls.map((call) => [call.op, call.hostname, call.type])).toEqual([
          ['create', 'chal.mcp-test.example', 'http-01'],
          ['remove', 'chal.mcp-test.example', 'http-01'],
        ]);
        expect(responder.calls[0]?.keyAuthorization.startsWith(`${responder.calls[0]?.token}.`)).toBe(true);
      });
    });

    describe('checkRenewals', () => {
      it('should report ok for a certificate outside the renewal window', async () => {
        const sut = await makeSut(config(), clock);
        const issued = await sut.ensureCertificate({ service: 'web', hostname: 'web.mcp-test.example' });

        const results = await sut.checkRenewals({ targets: [{ service: 'web', hostname: 'web.mcp-test.example' }] });

        expect(results).toEqual([{ service: 'web', hostname: 'web.mcp-test.example', action: 'ok', notAfter: issued.notAfter, expiresSoon: false }]);
      });

      it('should renew a certificate inside the renewal window, replacing the file', async () => {
        const sut = await makeSut(config(), clock);
        const issued = await sut.ensureCertificate({ service: 'web', hostname: 'web.mcp-test.example' });
        const oldSerial = readCert(issued.certPath).serialNumber;
        clock.set(new Date(issued.notAfter.getTime() - 20 * DAY));

        const results = await sut.checkRenewals({ targets: [{ service: 'web', hostname: 'web.mcp-test.example' }] });

        expect(results).toEqual([{ service: 'web', hostname: 'web.mcp-test.example', action: 'renewed', notAfter: expect.any(Date), expiresSoon: false }]);
        expect(readCert(issued.certPath).serialNumber).not.toBe(oldSerial);
      });

      it('should issue a missing certificate and report it renewed', async () => {
        const sut = await makeSut(config(), clock);

        const results = await sut.checkRenewals({ targets: [{ service: 'api', hostname: 'api.mcp-test.example' }] });

        expect(results[0]?.action).toBe('renewed');
        expect(fs.existsSync(path.join(dir, 'certs', 'api.pem'))).toBe(true);
      });
    });
  });

  describe('with a real pebble requiring external account binding', () => {
    const eab = { kid: 'metacrypt-kid-1', hmac: randomBytes(32).toString('base64url') };
    let pebble: TestPebble;

    beforeAll(async () => {
      pebble = await startPebble({ eab });
    });

    afterAll(async () => {
      await pebble?.close();
    });

    const config = (overrides: Partial<AcmeConfigData> = {}): AcmeConfigData => ({
      directoryUrl: pebble.directoryUrl,
      caCert: pebble.caCertPath,
      accountKeyPath: path.join(dir, 'account.key'),
      renewBeforeMs: 30 * DAY,
      certDir: path.join(dir, 'certs'),
      requestRetries: 0,
      ...overrides,
    });

    it('should issue with the right key id and HMAC', async () => {
      const sut = await makeSut(config({ eabKid: eab.kid, eabHmac: eab.hmac }), clock);

      const result = await sut.ensureCertificate({ service: 'web', hostname: 'web.mcp-test.example' });

      expect(result.issued).toBe(true);
      expect(readCert(result.certPath).subjectAltName).toBe('DNS:web.mcp-test.example');
    });

    it('should fail with CertificateError and write nothing without EAB', async () => {
      const sut = await makeSut(config(), clock);

      const error = await sut.ensureCertificate({ service: 'web', hostname: 'web.mcp-test.example' }).catch((e: unknown) => e);

      expect(error).toBeInstanceOf(CertificateError);
      expect((error as Error).message).toMatch(/externalAccountBinding/);
      expect(fs.readdirSync(dir)).toEqual([]);
    });

    it('should fail with CertificateError with a wrong HMAC', async () => {
      const sut = await makeSut(config({ eabKid: eab.kid, eabHmac: randomBytes(32).toString('base64url') }), clock);

      await expect(sut.ensureCertificate({ service: 'web', hostname: 'web.mcp-test.example' })).rejects.toBeInstanceOf(CertificateError);
      expect(fs.readdirSync(dir)).toEqual([]);
    });
  });

  describe('with pebble stopped', () => {
    let pebble: TestPebble;

    beforeAll(async () => {
      pebble = await startPebble();
    });

    afterAll(async () => {
      await pebble?.close();
    });

    const config = (): AcmeConfigData => ({
      directoryUrl: pebble.directoryUrl,
      caCert: pebble.caCertPath,
      accountKeyPath: path.join(dir, 'account.key'),
      renewBeforeMs: 30 * DAY,
      certDir: path.join(dir, 'certs'),
      requestRetries: 0,
    });

    it('should fail cleanly with CertificateError and write no files, then report renewals failed', async () => {
      const sut = await makeSut(config(), clock);
      const issued = await sut.ensureCertificate({ service: 'web', hostname: 'web.mcp-test.example' });
      await pebble.stop();
      const fresh = await makeSut({ ...config(), accountKeyPath: path.join(dir, 'other', 'account.key') }, clock);

      const error = await fresh.ensureCertificate({ service: 'api', hostname: 'api.mcp-test.example' }).catch((e: unknown) => e);
      clock.set(new Date(issued.notAfter.getTime() - 3 * DAY));
      const results = await sut.checkRenewals({ targets: [{ service: 'web', hostname: 'web.mcp-test.example' }] });

      expect(error).toBeInstanceOf(CertificateError);
      expect((error as Error).message).toContain(pebble.directoryUrl);
      expect(fs.readdirSync(path.join(dir, 'certs')).sort()).toEqual(['web.key', 'web.pem']);
      expect(fs.existsSync(path.join(dir, 'other'))).toBe(false);
      expect(results).toEqual([
        { service: 'web', hostname: 'web.mcp-test.example', action: 'failed', error: expect.stringContaining('ACME CA'), notAfter: issued.notAfter, expiresSoon: true },
      ]);
    });
  });
});
