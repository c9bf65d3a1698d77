import { Injectable } from '@nestjs/common';

export interface ChallengeInput {
  hostname: string;
  /** ACME challenge type, e.g. `http-01`. */
  type: string;
  token: string;
  /** What `/.well-known/acme-challenge/<token>` must answer for http-01. */
  keyAuthorization: string;
}

/**
 * Port: publishes an ACME challenge response where the CA will look for it (e.g. a file under
 * a web root served for `/.well-known/acme-challenge/`), and removes it afterwards.
 */
export abstract class ChallengeResponder {
  abstract create(input: ChallengeInput): Promise<void>;
  abstract remove(input: ChallengeInput): Promise<void>;
}

/** Default: nothing to publish (the CA validates by other means, or a test CA always validates). */
@Injectable()
export class NoopChallengeResponder extends ChallengeResponder {
  async create(): Promise<void> {}
  async remove(): Promise<void> {}
}
