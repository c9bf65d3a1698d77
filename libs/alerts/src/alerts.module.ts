import { type DynamicModule, Module } from '@nestjs/common';
import { AlertSender } from './alert-sender';
import { CommandAlertSender, LogAlertSender } from './command-alert-sender';

export interface AlertsModuleOptions {
  /** argv of the alert command; empty means alerts are only logged. */
  command: string[];
  timeoutMs: number;
  /** Environment passed on to the command (the agent's own). */
  baseEnv: NodeJS.ProcessEnv;
}

/** Binds the AlertSender port: the command sender when a command is configured. */
@Module({})
export class AlertsModule {
  static forRoot(options: AlertsModuleOptions): DynamicModule {
    return {
      module: AlertsModule,
      providers: [{ provide: AlertSender, useValue: senderFor(options) }],
      exports: [AlertSender],
    };
  }

  /** The same, with options from other providers (e.g. the agent's config). */
  static forRootAsync(input: { imports?: DynamicModule['imports']; inject: Array<abstract new (...args: never[]) => unknown>; useFactory: (...deps: never[]) => AlertsModuleOptions }): DynamicModule {
    return {
      module: AlertsModule,
      imports: input.imports ?? [],
      providers: [{ provide: AlertSender, inject: input.inject, useFactory: (...deps: never[]) => senderFor(input.useFactory(...deps)) }],
      exports: [AlertSender],
    };
  }
}

function senderFor(options: AlertsModuleOptions): AlertSender {
  return options.command.length > 0 ? new CommandAlertSender(options) : new LogAlertSender();
}
