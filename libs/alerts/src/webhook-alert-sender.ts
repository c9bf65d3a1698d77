import * as fs from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';
import { Logger } from '@nestjs/common';
import { type Alert, AlertSender } from './alert-sender';

export interface WebhookAlertSenderOptions {
  /** http:// or https:// endpoint. */
  url: string;
  /**
   * `json`: POST `{kind, node, service, component, desired, observed, message, time}`.
   * `ntfy`: POST the message as plain text with `Title`, `Tags` and `Priority` headers
   * (ntfy.sh and compatible servers).
   */
  format: 'json' | 'ntfy';
  /** File holding a bearer token, read at every send so a rotated token needs no restart. */
  tokenFile?: string;
  /** PEM file to trust for an https endpoint with a private CA. */
  caCert?: string;
  /** Each attempt is abandoned after this long. */
  timeoutMs: number;
  /** Attempts in all (first try included); at least 1. */
  maxAttempts: number;
  /** Wait before the 2nd attempt; doubled for each further one. */
  backoffMs: number;
  /** Upper bound of one wait. Default 60 s. */
  maxBackoffMs?: number;
}

type AttemptOutcome = { ok: true } | { ok: false; retry: boolean; reason: string };

const NTFY_TAGS: Record<string, string> = {
  drift: 'warning',
  flapping: 'rotating_light',
  recovered: 'white_check_mark',
  certificate: 'lock',
  backup: 'floppy_disk',
  job_failed: 'x',
};

const NTFY_PRIORITY: Record<string, string> = {
  drift: 'high',
  flapping: 'high',
  recovered: 'default',
  certificate: 'high',
  backup: 'high',
  job_failed: 'high',
};

/** The JSON body of a `json` webhook: the Alert with the time as an ISO string. */
export function webhookPayload(alert: Alert): Record<string, string> {
  return {
    kind: alert.kind,
    node: alert.node,
    service: alert.service,
    component: alert.component,
    desired: alert.desired,
    observed: alert.observed,
    message: alert.message,
    time: alert.time.toISOString(),
  };
}

/** HTTP header values must be Latin-1 without control characters. */
function headerSafe(value: string): string {
  return value.replace(/[^\x20-\x7e]/g, '?');
}

/**
 * Delivers alerts to an HTTP webhook (SPEC §2 Monitor, issue 6). Retries network errors,
 * timeouts, 429 and 5xx with exponential backoff, a bounded number of times; other answers
 * (a 4xx: wrong URL or token) are not retried. Never rejects: a lost alert is logged. The
 * token and the URL's path and query (an ntfy topic is a secret of sorts) are never logged.
 */
export class WebhookAlertSender extends AlertSender {
  private readonly logger = new Logger(WebhookAlertSender.name);
  private readonly url: URL;
  private readonly agent: http.Agent | undefined;

  constructor(private readonly options: WebhookAlertSenderOptions) {
    super();
    this.url = new URL(options.url);
    if (this.url.protocol !== 'http:' && this.url.protocol !== 'https:') {
      throw new TypeError(`alert webhook URL must be http or https, got ${this.url.protocol}`);
    }
    this.agent = options.caCert && this.url.protocol === 'https:' ? new https.Agent({ ca: fs.readFileSync(options.caCert) }) : undefined;
  }

  async send(alert: Alert): Promise<void> {
    const what = `${alert.kind} ${alert.service}/${alert.component}`;
    try {
      const token = await this.readToken();
      const request = this.buildRequest(alert, token);
      const attempts = Math.max(1, this.options.maxAttempts);
      for (let attempt = 1; attempt <= attempts; attempt += 1) {
        const outcome = await this.attempt(request);
        if (outcome.ok) return;
        if (!outcome.retry || attempt === attempts) {
          this.logger.warn(`alert webhook ${this.url.host}: giving up on ${what} after ${attempt} attempt(s): ${outcome.reason}`);
          return;
        }
        const wait = Math.min(this.options.backoffMs * 2 ** (attempt - 1), this.options.maxBackoffMs ?? 60_000);
        this.logger.debug(`alert webhook ${this.url.host}: attempt ${attempt} for ${what} failed (${outcome.reason}); retrying in ${wait} ms`);
        await new Promise((resolve) => setTimeout(resolve, wait));
      }
    } catch (error) {
      this.logger.warn(`alert webhook ${this.url.host}: could not send ${what}: ${error instanceof Error ? error.message : String(error)}`);
    }
  }

  private async readToken(): Promise<string | undefined> {
    if (!this.options.tokenFile) return undefined;
    try {
      const token = (await fs.promises.readFile(this.options.tokenFile, 'utf8')).trim();
      if (!token) throw new Error('empty');
      return token;
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
      throw new Error(`cannot read token file ${this.options.tokenFile} (${code})`);
    }
  }

  private buildRequest(alert: Alert, token: string | undefined): { headers: Record<string, string>; body: Buffer } {
    const headers: Record<string, string> = {};
    if (token) headers.authorization = `Bearer ${token}`;
    let body: Buffer;
    if (this.options.format === 'ntfy') {
      body = Buffer.from(alert.message, 'utf8');
      headers['content-type'] = 'text/plain; charset=utf-8';
      headers.title = headerSafe(`mcp ${alert.kind}: ${alert.service}/${alert.component} on ${alert.node}`);
      headers.tags = NTFY_TAGS[alert.kind] ?? alert.kind;
      headers.priority = NTFY_PRIORITY[alert.kind] ?? 'default';
    } else {
      body = Buffer.from(JSON.stringify(webhookPayload(alert)), 'utf8');
      headers['content-type'] = 'application/json';
    }
    headers['content-length'] = String(body.length);
    return { headers, body };
  }

  private attempt(request: { headers: Record<string, string>; body: Buffer }): Promise<AttemptOutcome> {
    const transport = this.url.protocol === 'https:' ? https : http;
    return new Promise<AttemptOutcome>((resolve) => {
      let settled = false;
      const finish = (outcome: AttemptOutcome): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve(outcome);
      };
      const req = transport.request(this.url, { method: 'POST', headers: request.headers, agent: this.agent }, (res) => {
        res.resume();
        res.once('end', () => {
          const status = res.statusCode ?? 0;
          if (status >= 200 && status < 300) finish({ ok: true });
          else finish({ ok: false, retry: status >= 500 || status === 429, reason: `HTTP ${status}` });
        });
        res.once('error', (error) => finish({ ok: false, retry: true, reason: error.message }));
      });
      const timer = setTimeout(() => {
        finish({ ok: false, retry: true, reason: `timed out after ${this.options.timeoutMs} ms` });
        req.destroy();
      }, this.options.timeoutMs);
      req.once('error', (error: NodeJS.ErrnoException) => finish({ ok: false, retry: true, reason: error.code ?? error.message }));
      req.end(request.body);
    });
  }
}
