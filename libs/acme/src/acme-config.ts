/** The agent's ACME account and where certificates go (agent config `[acme]`, SPEC §6). */
export interface AcmeConfigData {
  /** ACME directory, e.g. Metacrypt's `https://metacrypt.example.net/acme/directory`. */
  directoryUrl: string;
  /** PEM file the ACME server's own TLS certificate chains to (a private CA); else the system store. */
  caCert?: string;
  /** The account key (PEM). Created once, mode 0600, and reused. */
  accountKeyPath: string;
  email?: string;
  /** External account binding (the CA's key id and base64url HMAC key). Both or neither. */
  eabKid?: string;
  eabHmac?: string;
  /** A certificate is renewed when it expires within this long. */
  renewBeforeMs: number;
  /** Where mc-proxy reads `<service>.pem` (full chain) and `<service>.key`. */
  certDir: string;
  /**
   * Check an http-01 challenge from here before asking the CA to validate it. Off by default:
   * the CA validates anyway, and the agent usually cannot reach its own public name.
   */
  verifyChallenges?: boolean;
  /** Retries of a failed ACME request (network error, 5xx, 429). Process-wide in acme-client. Default 3. */
  requestRetries?: number;
  /** Base delay between those retries (grows linearly). Default 2 s. */
  retryDelayMs?: number;
  /** Per-request timeout. Default 30 s. */
  requestTimeoutMs?: number;
}

/** The class is the DI token. */
export class AcmeConfig implements AcmeConfigData {
  readonly directoryUrl!: string;
  readonly caCert?: string;
  readonly accountKeyPath!: string;
  readonly email?: string;
  readonly eabKid?: string;
  readonly eabHmac?: string;
  readonly renewBeforeMs!: number;
  readonly certDir!: string;
  readonly verifyChallenges?: boolean;
  readonly requestRetries?: number;
  readonly retryDelayMs?: number;
  readonly requestTimeoutMs?: number;

  constructor(data: AcmeConfigData) {
    Object.assign(this, data);
  }
}
