import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { staleDistReason } from './dist-freshness';

describe(staleDistReason.name, () => {
  let root: string;
  const write = (file: string, mtimeSeconds: number) => {
    const full = path.join(root, file);
    fs.mkdirSync(path.dirname(full), { recursive: true });
    fs.writeFileSync(full, '');
    fs.utimesSync(full, mtimeSeconds, mtimeSeconds);
  };

  beforeEach(() => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'mcp-dist-freshness-'));
    for (const dir of ['apps', 'libs', 'proto']) fs.mkdirSync(path.join(root, dir));
    write('apps/cli/src/main.ts', 1000);
    write('libs/common/src/errors.ts', 1000);
  });

  afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

  it('should accept bundles newer than every source', () => {
    write('dist/mcp-agent.js', 2000);
    write('dist/mcp.js', 2000);
    expect(staleDistReason(root)).toBeUndefined();
  });

  it('should name a missing bundle', () => {
    write('dist/mcp-agent.js', 2000);
    expect(staleDistReason(root)).toBe(`${path.join('dist', 'mcp.js')} is missing`);
  });

  it('should refuse bundles older than a source, and ignore specs', () => {
    write('dist/mcp-agent.js', 2000);
    write('dist/mcp.js', 2000);
    write('libs/common/src/errors.spec.ts', 3000);
    expect(staleDistReason(root)).toBeUndefined();
    write('libs/common/src/errors.ts', 3000);
    expect(staleDistReason(root)).toBe('dist/ is older than the sources');
  });
});
