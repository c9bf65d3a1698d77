import * as https from 'node:https';
import type * as AcmeClient from 'acme-client';

/**
 * acme-client sends every request through one shared axios instance and has no per-client
 * TLS option. One request interceptor, installed once, gives requests to a configured ACME
 * origin that origin's trust store (a private CA such as Metacrypt's) and a timeout, so two
 * CAs in one process never see each other's settings.
 */
interface OriginSettings {
  agent?: https.Agent;
  timeoutMs: number;
}

const origins = new Map<string, OriginSettings>();
let installed = false;

function originOf(url: string | undefined): string | undefined {
  if (!url) return undefined;
  try {
    return new URL(url).origin;
  } catch {
    return undefined;
  }
}

function install(acme: typeof AcmeClient): void {
  if (installed) return;
  installed = true;
  acme.axios.interceptors.request.use((request) => {
    const settings = origins.get(originOf(request.url) ?? '');
    if (settings) {
      if (settings.agent) request.httpsAgent = settings.agent;
      request.timeout = settings.timeoutMs;
    }
    return request;
  });
}

/** Registers the TLS trust and timeout for requests to the directory's origin (and only it). */
export function configureAcmeOrigin(acme: typeof AcmeClient, input: { directoryUrl: string; caPem?: Buffer; timeoutMs: number }): void {
  install(acme);
  const origin = originOf(input.directoryUrl);
  if (!origin) return;
  origins.set(origin, { agent: input.caPem ? new https.Agent({ ca: input.caPem, keepAlive: false }) : undefined, timeoutMs: input.timeoutMs });
}

/** acme-client's retry policy is process-wide: the agent has one ACME account, so one policy. */
export function configureAcmeRetries(acme: typeof AcmeClient, input: { attempts: number; delayMs: number }): void {
  const settings = (acme.axios.defaults as { acmeSettings?: { retryMaxAttempts: number; retryDefaultDelay: number } }).acmeSettings;
  if (!settings) return;
  settings.retryMaxAttempts = input.attempts;
  settings.retryDefaultDelay = input.delayMs / 1000;
}
