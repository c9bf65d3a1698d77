import * as fs from 'node:fs';
import * as path from 'node:path';
import { Injectable } from '@nestjs/common';
import { CertificateError } from '@mcp/common';
import type { CertificateAuthority } from '@mcp/acme';
import { DeployerOptions } from './deployer-options';

export interface CertificatePaths {
  certPath: string;
  keyPath: string;
}

/** Where mc-proxy reads a service's l7 certificate from (SPEC §2 step 5). */
export function certificatePaths(input: { certDir: string; service: string }): CertificatePaths {
  return {
    certPath: path.join(input.certDir, `${input.service}.pem`),
    keyPath: path.join(input.certDir, `${input.service}.key`),
  };
}

/**
 * Port: make sure a certificate for an l7 hostname exists where mc-proxy reads it, before the
 * route is registered. The ACME adapter issues one; the default only checks.
 */
export abstract class CertificateProvider {
  abstract ensure(input: { service: string; hostname: string }): Promise<CertificatePaths>;
}

/** Default adapter: the files must already exist (put there by the operator or a later ACME job). */
@Injectable()
export class ExistingCertificateProvider extends CertificateProvider {
  constructor(private readonly options: DeployerOptions) {
    super();
  }

  async ensure(input: { service: string; hostname: string }): Promise<CertificatePaths> {
    const paths = certificatePaths({ certDir: this.options.certDir, service: input.service });
    for (const file of [paths.certPath, paths.keyPath]) {
      try {
        await fs.promises.access(file, fs.constants.R_OK);
      } catch {
        throw new CertificateError(`no certificate for ${input.hostname}: ${file} does not exist (l7 routes need a certificate in the mc-proxy cert dir)`);
      }
    }
    return paths;
  }
}

/** ACME adapter: issues (or reuses) the certificate through the configured CA (`[acme]`). */
export class AcmeCertificateProvider extends CertificateProvider {
  constructor(private readonly authority: CertificateAuthority) {
    super();
  }

  async ensure(input: { service: string; hostname: string }): Promise<CertificatePaths> {
    const ensured = await this.authority.ensureCertificate({ service: input.service, hostname: input.hostname });
    return { certPath: ensured.certPath, keyPath: ensured.keyPath };
  }
}
