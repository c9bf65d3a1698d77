import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';
import type { ComponentSpec, RouteSpec } from '@mcp/common';
import type { mcpv1 } from '@mcp/proto';
import { toProtoServiceSpec } from '@mcp/servicedef';
import { TEST_ADMIN_TOKEN } from './test-config';

/** The local busybox image scripts/build-test-image.sh makes (httpd on $PORT with the cmd below). */
export const TEST_IMAGE = 'localhost/mcp-test/busybox:1.0';

/** A component that serves /www over HTTP on the port MCP allocates for its route. */
export const HTTPD_ON_PORT = ['/bin/sh', '-c', 'exec httpd -f -p $PORT -h /www'];

export type TestComponent = Partial<Omit<ComponentSpec, 'routes'>> & {
  name: string;
  routes?: Array<Partial<RouteSpec> & { port: number }>;
};

/**
 * A proto ServiceSpec for RPC tests, written as the domain spec (image defaults to
 * TEST_IMAGE, routes to l4) and converted by servicedef's own `toProtoServiceSpec`, so the
 * tests send exactly what the CLI would.
 */
export function protoService(input: { name: string; active?: boolean; components: TestComponent[] }): mcpv1.ServiceSpec {
  return toProtoServiceSpec({
    name: input.name,
    node: 'test',
    active: input.active ?? true,
    components: input.components.map(({ routes, ...component }) => ({
      image: TEST_IMAGE,
      ports: [],
      volumes: [],
      cmd: [],
      env: [],
      ...component,
      routes: (routes ?? []).map((route) => ({ mode: 'l4' as const, ...route })),
    })),
  });
}

/** GET http://127.0.0.1:<port><path> (default `/`), resolving to the body. */
export function httpGet(port: number, urlPath = '/'): Promise<string> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path: urlPath }, (res) => {
        let body = '';
        res.on('data', (chunk: Buffer) => (body += chunk.toString()));
        res.on('end', () => resolve(body));
      })
      .on('error', reject);
  });
}

/** httpd binds right after its container starts: wait (bounded, 10 s) until it accepts. */
export async function httpGetWhenUp(port: number, urlPath = '/'): Promise<string> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    try {
      return await httpGet(port, urlPath);
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

const AGENT_BIN = path.resolve(__dirname, '..', '..', 'bin', 'mcp-agent.js');

/** Runs the built `mcp-agent <args>` (snapshot, restore, …), resolving to its exit code and output; never rejects. */
export function runAgentCli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [AGENT_BIN, ...args], { cwd: path.dirname(path.dirname(AGENT_BIN)) }, (error, stdout, stderr) => {
      resolve({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

/**
 * The `mcp` CLI's workstation files in `configDir` (e.g. `$HOME/.config/mcp`): `mcp.toml` with
 * the agents' CA and one `[[nodes]]` per agent (server name localhost, as the test certs
 * say), and the token file (0600; the admin token unless told). Rewriting it points the CLI
 * at an agent that came back on a new port.
 */
export function writeCliConfig(configDir: string, input: { caCertPath: string; nodes: Array<{ name: string; address: string }>; token?: string }): void {
  fs.mkdirSync(configDir, { recursive: true });
  const nodes = input.nodes.map((node) => `[[nodes]]\nname = ${JSON.stringify(node.name)}\naddress = ${JSON.stringify(node.address)}\nserver_name = "localhost"\n`);
  fs.writeFileSync(path.join(configDir, 'mcp.toml'), [`[tls]\nca_cert = ${JSON.stringify(input.caCertPath)}\n`, ...nodes].join('\n'));
  fs.writeFileSync(path.join(configDir, 'token'), `${input.token ?? TEST_ADMIN_TOKEN}\n`, { mode: 0o600 });
}

/** `host:port` of an agent listening on all addresses, as the CLI on this machine reaches it. */
export function loopbackAddress(address: string): string {
  return `127.0.0.1:${address.split(':').pop()}`;
}
