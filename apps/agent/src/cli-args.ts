/** `mcp-agent` argv, parsed by hand (no Nest boot for --help). */
export type AgentCommand =
  | { verb: 'serve'; configPath?: string; devTls: boolean }
  | { verb: 'snapshot'; configPath?: string; outDir?: string; keep?: number }
  | { verb: 'restore'; configPath?: string; file: string }
  | { verb: 'help' }
  | { verb: 'version' };

export class UsageError extends Error {}

export const USAGE = `usage:
  mcp-agent serve [--config PATH] [--dev-tls]
  mcp-agent snapshot [--config PATH] [--out DIR] [--keep N]
  mcp-agent restore FILE [--config PATH]
  mcp-agent --help | --version

The config file is --config, else $MCP_AGENT_CONFIG, else /srv/mcp/mcp-agent.toml.
Any key can be overridden by MCP_AGENT_<SECTION>_<KEY> (e.g. MCP_AGENT_SERVER_GRPC_ADDR).
--dev-tls  generate a throwaway CA and server certificate next to the database when the
           configured tls_cert/tls_key do not exist (development only).`;

const OPTIONS: Record<string, { flags: string[]; valued: string[] }> = {
  serve: { flags: ['--dev-tls'], valued: ['--config'] },
  snapshot: { flags: [], valued: ['--config', '--out', '--keep'] },
  restore: { flags: [], valued: ['--config'] },
};

export function parseAgentArgs(argv: string[]): AgentCommand {
  if (argv.length === 0) throw new UsageError('missing command');
  const [verb, ...rest] = argv;
  if (verb === '--help' || verb === '-h' || verb === 'help') return { verb: 'help' };
  if (verb === '--version' || verb === '-v' || verb === 'version') return { verb: 'version' };
  const spec = OPTIONS[verb];
  if (!spec) throw new UsageError(`unknown command "${verb}"`);

  const values: Record<string, string> = {};
  const flags = new Set<string>();
  const positional: string[] = [];
  for (let i = 0; i < rest.length; i++) {
    const arg = rest[i];
    if (arg === '--help' || arg === '-h') return { verb: 'help' };
    const eq = arg.indexOf('=');
    const name = arg.startsWith('--') && eq > 0 ? arg.slice(0, eq) : arg;
    if (spec.valued.includes(name)) {
      const value = eq > 0 && arg.startsWith('--') ? arg.slice(eq + 1) : rest[++i];
      if (value === undefined || value === '') throw new UsageError(`${name} needs a value`);
      values[name] = value;
    } else if (spec.flags.includes(arg)) {
      flags.add(arg);
    } else if (arg.startsWith('-')) {
      throw new UsageError(`unknown option "${arg}" for ${verb}`);
    } else {
      positional.push(arg);
    }
  }

  const configPath = values['--config'];
  if (verb === 'restore') {
    if (positional.length !== 1) throw new UsageError('restore needs exactly one FILE');
    return { verb, configPath, file: positional[0] };
  }
  if (positional.length > 0) throw new UsageError(`unexpected argument "${positional[0]}"`);
  if (verb === 'serve') return { verb, configPath, devTls: flags.has('--dev-tls') };
  let keep: number | undefined;
  if (values['--keep'] !== undefined) {
    if (!/^\d+$/.test(values['--keep']) || Number(values['--keep']) < 1) throw new UsageError('--keep must be a positive integer');
    keep = Number(values['--keep']);
  }
  return { verb: 'snapshot', configPath, outDir: values['--out'], keep };
}
