/**
 * Alerts (SPEC §2 Monitor, issue 6): what the agent raises on drift, flapping, recovery,
 * certificate trouble and failed backups. The port is transport-neutral: the command sender,
 * the webhook sender and the fan-out over both fit alike.
 */
/** `certificate`: expiry within 7 days or a failed renewal; `backup`: a failed `mcp-agent snapshot`; `unhealthy`: a component's health check started failing (monitor); `deploy_failed`: a deploy failed or was rolled back (SPEC §8); `backup_failed` / `backup_stale`: a service's data backup failed, or none succeeded for twice its schedule's interval (SPEC §14); `job_failed`: a job run failed or ran past its timeout (SPEC §12; `component` is the job's name). */
export type AlertKind = 'drift' | 'flapping' | 'recovered' | 'certificate' | 'backup' | 'unhealthy' | 'deploy_failed' | 'backup_failed' | 'backup_stale' | 'job_failed';

export interface Alert {
  kind: AlertKind;
  node: string;
  service: string;
  component: string;
  desired: string;
  observed: string;
  message: string;
  time: Date;
}

export abstract class AlertSender {
  /** Delivers one alert. Never rejects: a failed delivery is logged, not thrown into the caller. */
  abstract send(alert: Alert): Promise<void>;
}

/** The environment a command alert carries, names as in SPEC §2. */
export function alertEnvironment(alert: Alert): Record<string, string> {
  return {
    MCP_ALERT_KIND: alert.kind,
    MCP_ALERT_NODE: alert.node,
    MCP_ALERT_SERVICE: alert.service,
    MCP_ALERT_COMPONENT: alert.component,
    MCP_ALERT_DESIRED: alert.desired,
    MCP_ALERT_OBSERVED: alert.observed,
    MCP_ALERT_MESSAGE: alert.message,
  };
}
