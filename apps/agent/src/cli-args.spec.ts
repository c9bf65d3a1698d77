import { parseAgentArgs, UsageError } from './cli-args';

describe(parseAgentArgs.name, () => {
  it.each([
    [['serve'], { verb: 'serve', configPath: undefined, devTls: false }],
    [['serve', '--config', '/a.toml', '--dev-tls'], { verb: 'serve', configPath: '/a.toml', devTls: true }],
    [['serve', '--config=/a.toml'], { verb: 'serve', configPath: '/a.toml', devTls: false }],
    [['snapshot', '--out', '/b', '--keep', '3'], { verb: 'snapshot', configPath: undefined, outDir: '/b', keep: 3 }],
    [['restore', '/b/x.db', '--config', '/a.toml'], { verb: 'restore', configPath: '/a.toml', file: '/b/x.db' }],
    [['--help'], { verb: 'help' }],
    [['serve', '-h'], { verb: 'help' }],
    [['--version'], { verb: 'version' }],
  ])('should parse %j', (argv, expected) => {
    expect(parseAgentArgs(argv)).toEqual(expected);
  });

  it.each([
    [[], 'missing command'],
    [['launch'], 'unknown command "launch"'],
    [['serve', '--bogus'], 'unknown option "--bogus" for serve'],
    [['serve', '--config'], '--config needs a value'],
    [['serve', 'extra'], 'unexpected argument "extra"'],
    [['snapshot', '--keep', '0'], '--keep must be a positive integer'],
    [['snapshot', '--dev-tls'], 'unknown option "--dev-tls" for snapshot'],
    [['restore'], 'restore needs exactly one FILE'],
    [['restore', 'a', 'b'], 'restore needs exactly one FILE'],
  ])('should refuse %j with a usage error', (argv, message) => {
    expect(() => parseAgentArgs(argv)).toThrow(new UsageError(message));
  });
});
