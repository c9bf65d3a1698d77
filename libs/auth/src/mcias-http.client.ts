import { readFileSync } from 'node:fs';
import * as https from 'node:https';
import {
  IdentityUnavailableError,
  InvalidArgumentError,
  PermissionDeniedError,
  UnauthenticatedError,
} from '@mcp/common';
import { TotpRequiredError } from './auth-errors';
import { Caller, IdentityClient, TokenValidation } from './identity-client';

export interface MciasHttpClientOptions {
  /** e.g. `https://mcias.example.net:8443` (a path prefix is kept). Must be https. */
  serverUrl: string;
  /** PEM bundle of the CA that signed MCIAS's certificate; the system store when absent. */
  caCertPath?: string;
  /** Sent as `service_name` on login, so MCIAS can apply its per-service policy. */
  serviceName: string;
  /** Whole-request timeout; default 10 s. */
  timeoutMs?: number;
}

export interface LoginInput {
  username: string;
  password: string;
  totpCode?: string;
}

export interface LoginResult {
  token: string;
  expiresAt?: Date;
}

const DEFAULT_TIMEOUT_MS = 10_000;
/** Answers are small JSON documents; anything bigger is not MCIAS talking. */
const MAX_RESPONSE_BYTES = 1024 * 1024;

interface HttpAnswer {
  status: number;
  body: unknown;
}

/**
 * MCIAS over HTTPS REST (SPEC §6). TLS 1.3 only, verified against `caCertPath` when given.
 * Fails closed: anything that is not a well-formed MCIAS answer (network error, timeout, 5xx,
 * non-JSON, missing fields) becomes IdentityUnavailableError, never "valid".
 */
export class MciasHttpClient extends IdentityClient {
  private readonly baseUrl: URL;
  private readonly ca?: Buffer;
  private readonly timeoutMs: number;

  constructor(private readonly options: MciasHttpClientOptions) {
    super();
    let url: URL;
    try {
      url = new URL(options.serverUrl);
    } catch (error) {
      throw new InvalidArgumentError(`MCIAS server_url "${options.serverUrl}" is not a URL`, { cause: error });
    }
    if (url.protocol !== 'https:') {
      throw new InvalidArgumentError(`MCIAS server_url "${options.serverUrl}" must use https`);
    }
    this.baseUrl = url;
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    if (options.caCertPath) {
      try {
        this.ca = readFileSync(options.caCertPath);
      } catch (error) {
        throw new InvalidArgumentError(`cannot read MCIAS CA certificate ${options.caCertPath}`, { cause: error });
      }
    }
  }

  async login(input: LoginInput): Promise<LoginResult> {
    const request: Record<string, string> = {
      username: input.username,
      password: input.password,
      service_name: this.options.serviceName,
    };
    if (input.totpCode) request.totp_code = input.totpCode;
    const answer = await this.post('/v1/auth/login', request);
    switch (answer.status) {
      case 200:
      case 201:
        return this.parseLogin(answer.body);
      case 401:
        if (mentionsTotp(answer.body)) {
          throw input.totpCode
            ? new UnauthenticatedError('invalid TOTP code')
            : new TotpRequiredError();
        }
        throw new UnauthenticatedError('invalid username or password');
      case 403:
        throw new PermissionDeniedError(
          `login denied by MCIAS policy: ${errorText(answer.body) ?? 'no reason given'}`,
        );
      case 429:
        throw new IdentityUnavailableError(`MCIAS at ${this.origin()} is rate limiting logins; try again later`);
      default:
        throw this.unexpectedStatus('login', answer.status);
    }
  }

  override async validate(token: string): Promise<TokenValidation> {
    const answer = await this.post('/v1/token/validate', { token });
    if (answer.status === 401 || answer.status === 403) {
      return { valid: false, reason: 'token rejected by MCIAS' };
    }
    if (answer.status !== 200) throw this.unexpectedStatus('token validation', answer.status);
    return this.parseValidation(answer.body);
  }

  private parseLogin(body: unknown): LoginResult {
    if (!isRecord(body) || typeof body.token !== 'string' || body.token === '') {
      throw this.garbage('login');
    }
    const expiresAt = parseTime(body.expires_at);
    if (expiresAt === null) throw this.garbage('login');
    return { token: body.token, expiresAt };
  }

  private parseValidation(body: unknown): TokenValidation {
    if (!isRecord(body) || typeof body.valid !== 'boolean') throw this.garbage('token validation');
    if (!body.valid) {
      const reason = errorText(body) ?? 'token invalid or expired';
      return { valid: false, reason };
    }
    const subject = body.sub;
    const roles = body.roles ?? [];
    if (typeof subject !== 'string' || subject === '') throw this.garbage('token validation');
    if (!Array.isArray(roles) || !roles.every((role): role is string => typeof role === 'string')) {
      throw this.garbage('token validation');
    }
    const username = typeof body.username === 'string' && body.username !== '' ? body.username : subject;
    const expiresAt = parseTime(body.expires_at);
    if (expiresAt === null) throw this.garbage('token validation');
    const caller: Caller = { subject, username, roles: [...roles] };
    if (expiresAt) caller.expiresAt = expiresAt;
    return { valid: true, caller };
  }

  private post(endpoint: string, payload: object): Promise<HttpAnswer> {
    const url = new URL(this.baseUrl.toString());
    url.pathname = `${url.pathname.replace(/\/+$/, '')}${endpoint}`;
    const body = Buffer.from(JSON.stringify(payload), 'utf8');
    return new Promise<HttpAnswer>((resolve, reject) => {
      let settled = false;
      const fail = (error: Error): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        request.destroy();
        reject(error);
      };
      const request = https.request(
        url,
        {
          method: 'POST',
          // No pooled keep-alive sockets: calls are rare (answers are cached) and an idle
          // socket would hold a CLI process open after `mcp login`.
          agent: false,
          ca: this.ca,
          minVersion: 'TLSv1.3',
          headers: {
            'content-type': 'application/json',
            accept: 'application/json',
            'content-length': String(body.length),
          },
        },
        (response) => {
          const chunks: Buffer[] = [];
          let size = 0;
          response.on('data', (chunk: Buffer) => {
            size += chunk.length;
            if (size > MAX_RESPONSE_BYTES) {
              fail(new IdentityUnavailableError(`MCIAS at ${this.origin()} sent an oversized answer`));
              return;
            }
            chunks.push(chunk);
          });
          response.on('error', (error) => fail(this.unreachable(error)));
          response.on('end', () => {
            if (settled) return;
            settled = true;
            clearTimeout(timer);
            resolve({ status: response.statusCode ?? 0, body: parseJson(Buffer.concat(chunks)) });
          });
        },
      );
      const timer = setTimeout(
        () => fail(new IdentityUnavailableError(`MCIAS at ${this.origin()} did not answer within ${this.timeoutMs} ms`)),
        this.timeoutMs,
      );
      request.on('error', (error) => fail(this.unreachable(error)));
      request.end(body);
    });
  }

  private origin(): string {
    return this.baseUrl.origin;
  }

  private unreachable(error: Error): IdentityUnavailableError {
    const code = errorCode(error);
    const tls = code !== undefined && /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|TLS|SSL|ERR_SSL/.test(code);
    const what = tls ? `TLS verification failed (${code}); check [mcias] ca_cert` : (code ?? error.message);
    return new IdentityUnavailableError(`MCIAS at ${this.origin()} unreachable: ${what}`, { cause: error });
  }

  private unexpectedStatus(what: string, status: number): IdentityUnavailableError {
    return new IdentityUnavailableError(`MCIAS at ${this.origin()} answered ${what} with HTTP ${status}`);
  }

  private garbage(what: string): IdentityUnavailableError {
    return new IdentityUnavailableError(`MCIAS at ${this.origin()} sent a malformed ${what} answer`);
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** JSON body, or undefined when it is not JSON (callers treat that as garbage). */
function parseJson(raw: Buffer): unknown {
  if (raw.length === 0) return undefined;
  try {
    return JSON.parse(raw.toString('utf8')) as unknown;
  } catch {
    return undefined;
  }
}

/** MCIAS's error text (`error` or `message`), bounded so a hostile server cannot flood logs. */
function errorText(body: unknown): string | undefined {
  if (!isRecord(body)) return undefined;
  for (const key of ['error', 'message', 'reason']) {
    const value = body[key];
    if (typeof value === 'string' && value.trim() !== '') return value.trim().slice(0, 200);
  }
  return undefined;
}

/** A 401 that asks for a second factor: `code: "totp_required"`, or an error mentioning TOTP. */
function mentionsTotp(body: unknown): boolean {
  if (!isRecord(body)) return false;
  if (typeof body.code === 'string' && /totp/i.test(body.code)) return true;
  if (body.totp_required === true) return true;
  const text = errorText(body);
  return text !== undefined && /totp/i.test(text);
}

/** RFC 3339 string or Unix seconds → Date; undefined when absent; null when malformed. */
function parseTime(value: unknown): Date | undefined | null {
  if (value === undefined || value === null || value === '') return undefined;
  const date =
    typeof value === 'number' ? new Date(value * 1000) : typeof value === 'string' ? new Date(value) : undefined;
  if (!date || Number.isNaN(date.getTime())) return null;
  return date;
}

function errorCode(error: Error): string | undefined {
  if ('code' in error && typeof error.code === 'string') return error.code;
  return undefined;
}
