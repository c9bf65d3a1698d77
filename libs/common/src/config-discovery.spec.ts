import { findConfigFile } from './config-discovery';

describe(findConfigFile.name, () => {
  const base = { envVar: 'MCP_CONFIG', appName: 'mcp' as const, fileName: 'mcp.toml', homeDir: '/home/op' };

  function existing(...files: string[]): (file: string) => boolean {
    return (file) => files.includes(file);
  }

  it('should prefer the explicit flag over everything else', () => {
    const sut = findConfigFile({
      ...base,
      explicit: '/tmp/x.toml',
      env: { MCP_CONFIG: '/env/mcp.toml', XDG_CONFIG_HOME: '/xdg' },
      exists: existing('/env/mcp.toml', '/xdg/mcp/mcp.toml'),
    });
    expect(sut).toEqual({ path: '/tmp/x.toml', source: 'flag' });
  });

  it('should use the env var when no flag is given, even if the file is missing', () => {
    const sut = findConfigFile({ ...base, env: { MCP_CONFIG: '/env/mcp.toml' }, exists: existing() });
    expect(sut).toEqual({ path: '/env/mcp.toml', source: 'env' });
  });

  it('should look in XDG_CONFIG_HOME before ~/.config', () => {
    const sut = findConfigFile({
      ...base,
      env: { XDG_CONFIG_HOME: '/xdg' },
      exists: existing('/xdg/mcp/mcp.toml', '/home/op/.config/mcp/mcp.toml'),
    });
    expect(sut).toEqual({ path: '/xdg/mcp/mcp.toml', source: 'xdg' });
  });

  it('should fall back to ~/.config when the XDG file does not exist', () => {
    const sut = findConfigFile({
      ...base,
      env: { XDG_CONFIG_HOME: '/xdg' },
      exists: existing('/home/op/.config/mcp/mcp.toml'),
    });
    expect(sut).toEqual({ path: '/home/op/.config/mcp/mcp.toml', source: 'home' });
  });

  it('should search the system paths in order after the per-user locations', () => {
    const sut = findConfigFile({
      ...base,
      fileName: 'mcp-agent.toml',
      env: {},
      systemPaths: ['/srv/mcp', '/etc/mcp'],
      exists: existing('/etc/mcp/mcp-agent.toml', '/srv/mcp/mcp-agent.toml'),
    });
    expect(sut).toEqual({ path: '/srv/mcp/mcp-agent.toml', source: 'system' });
  });

  it('should return the preferred per-user path as default when nothing exists', () => {
    expect(findConfigFile({ ...base, env: { XDG_CONFIG_HOME: '/xdg' }, exists: existing() })).toEqual({
      path: '/xdg/mcp/mcp.toml',
      source: 'default',
    });
    expect(findConfigFile({ ...base, env: {}, exists: existing() })).toEqual({
      path: '/home/op/.config/mcp/mcp.toml',
      source: 'default',
    });
  });

  it('should ignore a relative XDG_CONFIG_HOME as the XDG spec requires', () => {
    const sut = findConfigFile({ ...base, env: { XDG_CONFIG_HOME: 'rel' }, exists: existing() });
    expect(sut.source).toBe('default');
    expect(sut.path).toBe('/home/op/.config/mcp/mcp.toml');
  });
});
