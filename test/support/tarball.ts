import { gzipSync } from 'node:zlib';
import { tarHeader } from '@mcp/common';

/** One entry of a hand-made tarball (tests only: entries a real bundle never has). */
export interface RawEntry {
  path: string;
  /** '0' file (default), '5' directory, '2' symlink, '1' hard link, '3' char device… */
  type?: string;
  data?: string | Buffer;
  linkname?: string;
  mode?: number;
}

/** A gzipped ustar archive of exactly these entries, in this order. */
export function tarball(entries: readonly RawEntry[], options: { truncate?: number } = {}): Buffer {
  const parts: Buffer[] = [];
  for (const entry of entries) {
    const type = entry.type ?? '0';
    const data = type === '0' ? Buffer.from(entry.data ?? '') : Buffer.alloc(0);
    parts.push(tarHeader({ path: entry.path, typeflag: type, mode: entry.mode ?? (type === '5' ? 0o755 : 0o644), size: data.length, linkname: entry.linkname }), data);
    const pad = (512 - (data.length % 512)) % 512;
    if (pad) parts.push(Buffer.alloc(pad));
  }
  parts.push(Buffer.alloc(1024));
  let raw = Buffer.concat(parts);
  if (options.truncate !== undefined) raw = raw.subarray(0, options.truncate);
  return gzipSync(raw);
}

/** The entries of a minimal agent release of `version` whose agent program is `agent`. */
export function releaseEntries(version: string, agent = "'use strict';\n"): RawEntry[] {
  return [
    { path: 'package.json', data: JSON.stringify({ name: 'mcp', version }) },
    { path: 'bin/mcp-agent.js', data: "#!/usr/bin/env node\nrequire('../dist/mcp-agent.js');\n", mode: 0o755 },
    { path: 'dist/mcp-agent.js', data: agent },
  ];
}
