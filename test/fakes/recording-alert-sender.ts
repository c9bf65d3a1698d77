import { type Alert, AlertSender } from '@mcp/alerts';

/** An AlertSender that keeps what it was given. */
export class RecordingAlertSender extends AlertSender {
  readonly sent: Alert[] = [];

  async send(alert: Alert): Promise<void> {
    this.sent.push(alert);
  }
}
