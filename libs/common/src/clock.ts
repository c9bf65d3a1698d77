// Deep import: @nestjs/common's index loads every service and pipe (~20 ms of `mcp ps`, bench P2).
import 'reflect-metadata'; // what @nestjs/common's index would have loaded first
import { Injectable } from '@nestjs/common/decorators/core/injectable.decorator';

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
