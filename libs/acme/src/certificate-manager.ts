import { X509Certificate, createPrivateKey, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Injectable, Logger } from '@nestjs/common';
import type * as AcmeClient from 'acme-client';
import { CertificateError, Clock } from '@mcp/common';
import { AcmeConfig } from './acme-config';
import { configureAcmeOrigin, configureAcmeRetries } from './acme-transport';
import { CertificateAuthority, type CertificateTarget, type EnsuredCertificate, type RenewalResult } from './certificate-authority';
import { ChallengeResponder } from './challenge-responder';

/** A certificate that expires within this is reported `expiresSoon` (an alert-worthy state). */
export const EXPIRES_SOON_MS = 7 * 24 * 60 * 60 * 1000;

interface CertOnDisk {
  notAfter: Date;
  serialNumber: string;
  coversHostname: boolean;
  /** The key file exists and belongs to the certificate (a crash between the two renames leaves a mismatch). */
  hasKey: boolean;
}

/** `<certDir>/<service>.pem` and `.key`, the names mc-proxy reads (SPEC §2 step 5). */
export function certificateFiles(input: { certDir: string; service: string }): { certPath: string; keyPath: string } {
  return { certPath: path.join(input.certDir, `${input.service}.pem`), keyPath: path.join(input.certDir, `${input.service}.key`) };
}

/**
 * The CertificateAuthority adapter for an ACME CA (Metacrypt; pebble in tests), on
 * acme-client. One certificate per l7 hostname, named after the service; issued when missing,
 * not covering the hostname, or inside the renewal window; written atomically (temp file +
 * rename) so mc-proxy never reads half a file. Issuance of one service is serialised.
 */
/**
 * acme-client (with axios, node-forge and the @peculiar ASN.1 stack, and through axios Node's
 * fetch) is loaded on the first issuance, not at start-up: most agents never issue, and every
 * loaded module stays on the daemon's heap (bench P7).
 */
function loadAcme(): Promise<typeof AcmeClient> {
  return import('acme-client');
}

@Injectable()
export class CertificateManager extends CertificateAuthority {
  private readonly logger = new Logger(CertificateManager.name);
  private client?: Promise<AcmeClient.Client>;
  private readonly serviceLocks = new Map<string, Promise<unknown>>();

  constructor(
    private readonly config: AcmeConfig,
    private readonly clock: Clock,
    private readonly responder: ChallengeResponder,
  ) {
    super();
    if (Boolean(config.eabKid) !== Boolean(config.eabHmac)) {
      throw new CertificateError('acme: eab_kid and eab_hmac must be set together');
    }
  }

  ensureCertificate(target: CertificateTarget): Promise<EnsuredCertificate> {
    const previous = this.serviceLocks.get(target.service) ?? Promise.resolve();
    const run = previous.catch(() => undefined).then(() => this.ensureNow(target));
    const settled = run.catch(() => undefined);
    this.serviceLocks.set(target.service, settled);
    void settled.then(() => {
      if (this.serviceLocks.get(target.service) === settled) this.serviceLocks.delete(target.service);
    });
    return run;
  }

  async checkRenewals(input: { targets: CertificateTarget[] }): Promise<RenewalResult[]> {
    const results: RenewalResult[] = [];
    for (const target of input.targets) {
      try {
        const ensured = await this.ensureCertificate(target);
        results.push({
          ...target,
          action: ensured.issued ? 'renewed' : 'ok',
          notAfter: ensured.notAfter,
          expiresSoon: this.expiresSoon(ensured.notAfter),
        });
      } catch (error) {
        const onDisk = await this.readCert(certificateFiles({ certDir: this.config.certDir, service: target.service }).certPath, target.hostname);
        const message = error instanceof Error ? error.message : String(error);
        this.logger.warn(`certificate renewal for ${target.hostname} (${target.service}) failed: ${message}`);
        results.push({
          ...target,
          action: 'failed',
          error: message,
          notAfter: onDisk?.notAfter,
          expiresSoon: onDisk ? this.expiresSoon(onDisk.notAfter) : true,
        });
      }
    }
    return results;
  }

  private expiresSoon(notAfter: Date): boolean {
    return notAfter.getTime() - this.clock.now().getTime() < EXPIRES_SOON_MS;
  }

  private async ensureNow(target: CertificateTarget): Promise<EnsuredCertificate> {
    const { certPath, keyPath } = certificateFiles({ certDir: this.config.certDir, service: target.service });
    const existing = await this.readCert(certPath, target.hostname);
    if (existing?.coversHostname && existing.hasKey && !this.insideRenewalWindow(existing.notAfter)) {
      return { certPath, keyPath, notAfter: existing.notAfter, issued: false };
    }
    const reason = !existing ? 'no certificate' : !existing.coversHostname ? 'hostname not covered' : !existing.hasKey ? 'key missing or not matching' : 'renewal window';
    this.logger.log(`issuing certificate for ${target.hostname} (${target.service}): ${reason}`);
    const { key, chain } = await this.issue(target);
    const notAfter = new Date(new X509Certificate(chain).validTo);
    await fs.promises.mkdir(this.config.certDir, { recursive: true });
    // Key first: a reader that sees the new certificate must find its key already there.
    await writeAtomically({ file: keyPath, content: key, mode: 0o600 });
    await writeAtomically({ file: certPath, content: chain, mode: 0o644 });
    this.logger.log(`issued certificate for ${target.hostname} (${target.service}), valid until ${notAfter.toISOString()}`);
    return { certPath, keyPath, notAfter, issued: true };
  }

  private insideRenewalWindow(notAfter: Date): boolean {
    return notAfter.getTime() - this.clock.now().getTime() <= this.config.renewBeforeMs;
  }

  private async readCert(certPath: string, hostname: string): Promise<CertOnDisk | undefined> {
    let pem: Buffer;
    try {
      pem = await fs.promises.readFile(certPath);
    } catch {
      return undefined;
    }
    try {
      const cert = new X509Certificate(pem);
      return {
        notAfter: new Date(cert.validTo),
        serialNumber: cert.serialNumber,
        coversHostname: cert.checkHost(hostname, { subject: 'never' }) !== undefined,
        hasKey: await keyMatches(cert, certPath.replace(/\.pem$/, '.key')),
      };
    } catch {
      // An unparsable file is replaced like a missing one.
      return undefined;
    }
  }

  private async issue(target: CertificateTarget): Promise<{ key: Buffer; chain: string }> {
    try {
      const client = await this.acmeClient();
      const acme = await loadAcme();
      const [key, csr] = await acme.crypto.createCsr({ commonName: target.hostname, altNames: [target.hostname] }, await acme.crypto.createPrivateEcdsaKey());
      const chain = await client.auto({
        csr,
        email: this.config.email,
        termsOfServiceAgreed: true,
        challengePriority: ['http-01'],
        skipChallengeVerification: !this.config.verifyChallenges,
        challengeCreateFn: (authz, challenge, keyAuthorization) =>
          this.responder.create({ hostname: authz.identifier.value, type: challenge.type, token: challengeToken(challenge), keyAuthorization }),
        challengeRemoveFn: (authz, challenge, keyAuthorization) =>
          this.responder.remove({ hostname: authz.identifier.value, type: challenge.type, token: challengeToken(challenge), keyAuthorization }),
      });
      return { key, chain };
    } catch (error) {
      if (error instanceof CertificateError) throw error;
      const detail = error instanceof Error ? error.message : String(error);
      throw new CertificateError(`certificate for ${target.hostname} (${target.service}): ACME CA ${this.config.directoryUrl}: ${detail}`, { cause: error });
    }
  }

  /** One client per manager; the account key is created once and kept only after the CA accepted the account. */
  private acmeClient(): Promise<AcmeClient.Client> {
    this.client ??= this.createClient();
    const pending = this.client;
    pending.catch(() => {
      if (this.client === pending) this.client = undefined;
    });
    return pending;
  }

  private async createClient(): Promise<AcmeClient.Client> {
    const acme = await loadAcme();
    let caPem: Buffer | undefined;
    if (this.config.caCert) {
      try {
        caPem = await fs.promises.readFile(this.config.caCert);
      } catch (error) {
        throw new CertificateError(`acme: cannot read ca_cert ${this.config.caCert} (${(error as NodeJS.ErrnoException).code ?? 'unreadable'})`);
      }
    }
    configureAcmeOrigin(acme, { directoryUrl: this.config.directoryUrl, caPem, timeoutMs: this.config.requestTimeoutMs ?? 30_000 });
    configureAcmeRetries(acme, { attempts: this.config.requestRetries ?? 3, delayMs: this.config.retryDelayMs ?? 2000 });

    let accountKey: Buffer;
    let created = false;
    try {
      accountKey = await fs.promises.readFile(this.config.accountKeyPath);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') {
        throw new CertificateError(`acme: cannot read account key ${this.config.accountKeyPath} (${(error as NodeJS.ErrnoException).code ?? 'unreadable'})`);
      }
      accountKey = await acme.crypto.createPrivateRsaKey(2048);
      created = true;
    }
    const client = new acme.Client({
      directoryUrl: this.config.directoryUrl,
      accountKey,
      ...(this.config.eabKid && this.config.eabHmac ? { externalAccountBinding: { kid: this.config.eabKid, hmacKey: this.config.eabHmac } } : {}),
    });
    try {
      await client.createAccount({ termsOfServiceAgreed: true, ...(this.config.email ? { contact: [`mailto:${this.config.email}`] } : {}) });
    } catch (error) {
      const detail = error instanceof Error ? error.message : String(error);
      throw new CertificateError(`acme: account registration with ${this.config.directoryUrl} failed: ${detail}`, { cause: error });
    }
    if (created) {
      await fs.promises.mkdir(path.dirname(this.config.accountKeyPath), { recursive: true, mode: 0o700 });
      await writeAtomically({ file: this.config.accountKeyPath, content: accountKey, mode: 0o600 });
      this.logger.log(`created ACME account key ${this.config.accountKeyPath}`);
    }
    return client;
  }
}

async function keyMatches(cert: X509Certificate, keyPath: string): Promise<boolean> {
  try {
    return cert.checkPrivateKey(createPrivateKey(await fs.promises.readFile(keyPath)));
  } catch {
    return false;
  }
}

function challengeToken(challenge: object): string {
  return 'token' in challenge && typeof challenge.token === 'string' ? challenge.token : '';
}

/** Writes `content` to a temp file beside `file` with `mode`, fsyncs, and renames it into place. */
async function writeAtomically(input: { file: string; content: Buffer | string; mode: number }): Promise<void> {
  const temp = path.join(path.dirname(input.file), `.${path.basename(input.file)}.${randomBytes(6).toString('hex')}.tmp`);
  const handle = await fs.promises.open(temp, 'wx', input.mode);
  try {
    await handle.writeFile(input.content);
    await handle.chmod(input.mode);
    await handle.sync();
  } finally {
    await handle.close();
  }
  try {
    await fs.promises.rename(temp, input.file);
  } catch (error) {
    await fs.promises.rm(temp, { force: true });
    throw error;
  }
}
