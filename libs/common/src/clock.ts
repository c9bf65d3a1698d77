import { Injectable } from '@nestjs/common';

/** Time as a port, so tests can move it (cache expiry, flapping windows, renewals). */
export abstract class Clock {
  abstract now(): Date;
}

@Injectable()
export class SystemClock extends Clock {
  now(): Date {
    return new Date();
  }
}
