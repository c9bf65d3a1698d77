import { UnauthenticatedError } from '@mcp/common';

/**
 * MCIAS refused the login only because a TOTP code is needed. A subclass of
 * UnauthenticatedError (so generic mappers still see "unauthenticated"), distinct so that
 * `mcp login` can prompt for the code and retry.
 */
export class TotpRequiredError extends UnauthenticatedError {
  constructor(message = 'a TOTP code is required') {
    super(message);
  }
}
