import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export type ConfigSource = 'flag' | 'env' | 'xdg' | 'home' | 'system' | 'default';

export interface FindConfigFileOptions {
  /** A path given on the command line (`--config`); wins even when the file is missing. */
  explicit?: string;
  /** Environment variable naming the file (e.g. `MCP_CONFIG`). */
  envVar: string;
  appName: 'mcp';
  /** e.g. `mcp.toml` or `mcp-agent.toml`. */
  fileName: string;
  /** Folders searched last, in order (for root: `/srv/mcp`, `/etc/mcp`). */
  systemPaths?: string[];
  /** The CLI's environment (main.ts passes process.env; tests their own). */
  env: NodeJS.ProcessEnv;
  /** Injected for tests; defaults to os.homedir(). */
  homeDir?: string;
  /** Injected for tests; defaults to fs.existsSync. */
  exists?: (file: string) => boolean;
}

export interface FoundConfigFile {
  path: string;
  source: ConfigSource;
}

/**
 * Where a program's config file is: the explicit flag, then the env var, then
 * `$XDG_CONFIG_HOME/<app>/<file>`, `~/.config/<app>/<file>`, then the system folders.
 * An explicit flag or env var is returned as-is (a missing file there is the caller's error
 * to report); the searched locations must exist. When nothing exists, the result is the
 * preferred per-user location with source `default`, so callers can say where to create it.
 */
export function findConfigFile(options: FindConfigFileOptions): FoundConfigFile {
  const { env } = options;
  const exists = options.exists ?? ((file: string) => fs.existsSync(file));
  const home = options.homeDir ?? os.homedir();
  if (options.explicit) return { path: path.resolve(options.explicit), source: 'flag' };
  const fromEnv = env[options.envVar];
  if (fromEnv) return { path: path.resolve(fromEnv), source: 'env' };

  const homeConfig = path.join(home, '.config', options.appName, options.fileName);
  const xdgHome = env.XDG_CONFIG_HOME;
  const candidates: FoundConfigFile[] = [];
  if (xdgHome && path.isAbsolute(xdgHome)) {
    candidates.push({ path: path.join(xdgHome, options.appName, options.fileName), source: 'xdg' });
  }
  candidates.push({ path: homeConfig, source: 'home' });
  for (const dir of options.systemPaths ?? []) {
    candidates.push({ path: path.join(dir, options.fileName), source: 'system' });
  }
  const found = candidates.find((candidate) => exists(candidate.path));
  if (found) return found;
  return { path: candidates[0].path, source: 'default' };
}
