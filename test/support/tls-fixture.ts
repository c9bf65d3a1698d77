import { makeTlsFiles, type TlsFiles } from '../../apps/agent/src/config/dev-tls';

/** A throwaway CA and a server cert for localhost/127.0.0.1 in `dir` (openssl, argv only). */
export function makeTlsFixture(dir: string): Promise<TlsFiles> {
  return makeTlsFiles({ dir });
}

export type { TlsFiles };
