import { Logger } from '@nestjs/common';
import { type Alert, AlertSender } from './alert-sender';

/**
 * Sends every alert to each of several senders (the alert command and the webhook)
 * concurrently; resolves when all of them are done. One slow or failing sender neither
 * delays nor stops the others. Never rejects.
 */
export class FanOutAlertSender extends AlertSender {
  private readonly logger = new Logger(FanOutAlertSender.name);

  constructor(private readonly senders: readonly AlertSender[]) {
    super();
  }

  async send(alert: Alert): Promise<void> {
    const outcomes = await Promise.allSettled(this.senders.map((sender) => sender.send(alert)));
    for (const outcome of outcomes) {
      // The port promises never to reject; a sender that does anyway is logged, not rethrown.
      if (outcome.status === 'rejected') this.logger.warn(`alert sender failed for ${alert.kind} ${alert.service}/${alert.component}: ${describe(outcome.reason)}`);
    }
  }
}

export interface AlertDispatcherOptions {
  sender: AlertSender;
  /** Deliveries allowed in flight at once; an alert beyond that is logged and dropped. */
  maxInFlight: number;
}

/**
 * Fire-and-track delivery for a loop that must not wait on a slow receiver (the monitor
 * tick): dispatch() starts the delivery and returns at once; at most `maxInFlight`
 * deliveries are in flight (running or queued), so a receiver that never answers cannot
 * pile up work without bound. Alerts about one component are delivered one after the other
 * in the order they were dispatched — a `recovered` never reaches the receiver before the
 * `drift` it ends — while different components' alerts go out concurrently.
 * settled() waits for what is in flight (tests, shutdown).
 */
export class AlertDispatcher {
  private readonly logger = new Logger(AlertDispatcher.name);
  private readonly inFlight = new Set<Promise<void>>();
  /** The last delivery queued per service/component: the next one for it starts after it. */
  private readonly tails = new Map<string, Promise<void>>();

  constructor(private readonly options: AlertDispatcherOptions) {}

  get pending(): number {
    return this.inFlight.size;
  }

  /** Starts delivering `alert`; false when it was dropped because too many are in flight. */
  dispatch(alert: Alert): boolean {
    if (this.inFlight.size >= this.options.maxInFlight) {
      this.logger.warn(`alert ${alert.kind} ${alert.service}/${alert.component} dropped: ${this.inFlight.size} deliveries still in flight`);
      return false;
    }
    const key = `${alert.service}/${alert.component}`;
    // The previous delivery never rejects (its failure is logged below), so the chain holds.
    const previous = this.tails.get(key) ?? Promise.resolve();
    const delivery: Promise<void> = previous
      .then(() => this.options.sender.send(alert))
      .catch((error: unknown) => this.logger.warn(`alert ${alert.kind} ${alert.service}/${alert.component} not delivered: ${describe(error)}`))
      .finally(() => {
        this.inFlight.delete(delivery);
        if (this.tails.get(key) === delivery) this.tails.delete(key);
      });
    this.tails.set(key, delivery);
    this.inFlight.add(delivery);
    return true;
  }

  /** Resolves once every delivery started so far has finished. */
  async settled(): Promise<void> {
    await Promise.all([...this.inFlight]);
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
