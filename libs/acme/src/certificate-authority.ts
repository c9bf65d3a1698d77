/** A service's l7 certificate: one hostname, stored where mc-proxy reads it. */
export interface CertificateTarget {
  service: string;
  hostname: string;
}

export interface EnsuredCertificate {
  /** `<certDir>/<service>.pem`, full chain. */
  certPath: string;
  /** `<certDir>/<service>.key`, mode 0600. */
  keyPath: string;
  notAfter: Date;
  /** true when a new certificate was issued by this call. */
  issued: boolean;
}

export interface RenewalResult {
  service: string;
  hostname: string;
  /** ok: valid and outside the renewal window; renewed: (re)issued now; failed: see error. */
  action: 'ok' | 'renewed' | 'failed';
  error?: string;
  /** Expiry of the certificate now on disk, when there is one. */
  notAfter?: Date;
  /** The certificate on disk (if any) expires within 7 days, or there is none and issuing failed. */
  expiresSoon: boolean;
}

/**
 * Port: the certificate authority (Metacrypt over ACME). Deploy calls `ensureCertificate`
 * before registering an l7 route; a daily job calls `checkRenewals` and alerts on failures.
 * Errors are CertificateError.
 */
export abstract class CertificateAuthority {
  abstract ensureCertificate(target: CertificateTarget): Promise<EnsuredCertificate>;
  abstract checkRenewals(input: { targets: CertificateTarget[] }): Promise<RenewalResult[]>;
}
