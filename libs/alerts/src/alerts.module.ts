import { type DynamicModule, Module } from '@nestjs/common';
import { AlertSender } from './alert-sender';
import { CommandAlertSender, LogAlertSender } from './command-alert-sender';
import { FanOutAlertSender } from './fan-out-alert-sender';
import { WebhookAlertSender, type WebhookAlertSenderOptions } from './webhook-alert-sender';

export interface AlertsModuleOptions {
  /** argv of the alert command; empty means no command. */
  command: string[];
  timeoutMs: number;
  /** Environment passed on to the command (the agent's own). */
  baseEnv: NodeJS.ProcessEnv;
  /** The alert webhook, when one is configured. */
  webhook?: WebhookAlertSenderOptions;
}

/**
 * Binds the AlertSender port: the command sender and/or the webhook sender (both at once,
 * concurrently, through a FanOutAlertSender); with neither, alerts are only logged.
 */
@Module({})
export class AlertsModule {
  static forRoot(options: AlertsModuleOptions): DynamicModule {
    return {
      module: AlertsModule,
      providers: [{ provide: AlertSender, useValue: alertSenderFor(options) }],
      exports: [AlertSender],
    };
  }
}

/** The sender the options call for (also used outside Nest, by `mcp-agent snapshot`). */
export function alertSenderFor(options: AlertsModuleOptions): AlertSender {
  const senders: AlertSender[] = [];
  if (options.command.length > 0) senders.push(new CommandAlertSender(options));
  if (options.webhook) senders.push(new WebhookAlertSender(options.webhook));
  if (senders.length === 0) return new LogAlertSender();
  return senders.length === 1 ? senders[0] : new FanOutAlertSender(senders);
}
