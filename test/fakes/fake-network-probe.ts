import { NetworkProbe, type ProbeResult } from '@mcp/deployer';

/**
 * NetworkProbe without sockets: every host port answers healthy (HTTP 200, connect OK) unless
 * a test scripts it otherwise. Every probe is recorded.
 *
 *   probe.answer(23456, { ok: false, detail: 'GET /up → 503' });
 */
export class FakeNetworkProbe extends NetworkProbe {
  readonly calls: Array<{ kind: 'http' | 'tcp'; port: number; path?: string }> = [];
  private readonly answers = new Map<number, ProbeResult>();

  answer(port: number, result: ProbeResult): this {
    this.answers.set(port, result);
    return this;
  }

  async http(input: { host: string; port: number; path: string; timeoutMs: number }): Promise<ProbeResult> {
    this.calls.push({ kind: 'http', port: input.port, path: input.path });
    return this.answers.get(input.port) ?? { ok: true, detail: `GET ${input.path} → 200` };
  }

  async tcp(input: { host: string; port: number; timeoutMs: number }): Promise<ProbeResult> {
    this.calls.push({ kind: 'tcp', port: input.port });
    return this.answers.get(input.port) ?? { ok: true, detail: `${input.host}:${input.port} accepts connections` };
  }
}
