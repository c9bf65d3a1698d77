import * as fs from 'node:fs';
import * as path from 'node:path';
import { gzipSync } from 'node:zlib';

export interface UiAsset {
  type: string;
  body: Buffer;
  gzip: Buffer;
}

/** The files of the page, by URL path. Nothing else is ever served as a file. */
export const ASSET_FILES: Record<string, { file: string; type: string }> = {
  '/': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/app.js': { file: 'app.js', type: 'text/javascript; charset=utf-8' },
  '/app.css': { file: 'app.css', type: 'text/css; charset=utf-8' },
  '/icon.svg': { file: 'icon.svg', type: 'image/svg+xml' },
};

/** The dashboard's static files, read once and gzipped once at start-up. */
export class UiAssets {
  private readonly byPath: Map<string, UiAsset>;

  constructor(files: Record<string, { type: string; body: Buffer | string }>) {
    this.byPath = new Map(
      Object.entries(files).map(([urlPath, { type, body }]) => {
        const bytes = Buffer.isBuffer(body) ? body : Buffer.from(body);
        return [urlPath, { type, body: bytes, gzip: gzipSync(bytes, { level: 9 }) }];
      }),
    );
  }

  /** Reads the built assets (`npm run build` writes them to dist/ui/). */
  static load(dir: string): UiAssets {
    const files: Record<string, { type: string; body: Buffer }> = {};
    for (const [urlPath, { file, type }] of Object.entries(ASSET_FILES)) {
      const full = path.join(dir, file);
      try {
        files[urlPath] = { type, body: fs.readFileSync(full) };
      } catch (error) {
        throw new Error(`the dashboard's files are missing (${full}: ${(error as NodeJS.ErrnoException).code ?? String(error)}): run npm run build`);
      }
    }
    return new UiAssets(files);
  }

  get(urlPath: string): UiAsset | undefined {
    return this.byPath.get(urlPath);
  }

  /** Total bytes a first visit transfers: raw and gzipped. */
  size(): { raw: number; gzip: number } {
    let raw = 0;
    let gzip = 0;
    for (const asset of this.byPath.values()) {
      raw += asset.body.length;
      gzip += asset.gzip.length;
    }
    return { raw, gzip };
  }
}
