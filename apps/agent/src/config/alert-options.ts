import type { AlertsModuleOptions } from '@mcp/alerts';
import type { AgentConfig } from './agent-config';

/** Wait before the webhook's 2nd attempt; doubled for each further one, up to the cap. */
export const WEBHOOK_BACKOFF_MS = 1_000;
export const WEBHOOK_MAX_BACKOFF_MS = 30_000;

/**
 * The alert senders the agent config asks for (`[monitor] alert_command`, `alert_webhook*`),
 * shared by the monitor, the certificate renewal check and `mcp-agent snapshot`.
 */
export function alertsOptionsFromConfig(config: AgentConfig): AlertsModuleOptions {
  const webhook = config.monitor.alertWebhook;
  return {
    command: config.monitor.alertCommand,
    timeoutMs: config.monitor.alertTimeoutMs,
    // The alert command inherits the agent's environment (PATH, HOME, proxies...).
    baseEnv: config.env,
    ...(webhook
      ? {
          webhook: {
            url: webhook.url,
            format: webhook.format,
            tokenFile: webhook.tokenFile,
            caCert: webhook.caCert,
            timeoutMs: webhook.timeoutMs,
            maxAttempts: webhook.attempts,
            backoffMs: WEBHOOK_BACKOFF_MS,
            maxBackoffMs: WEBHOOK_MAX_BACKOFF_MS,
          },
        }
      : {}),
  };
}
