import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Test } from '@nestjs/testing';
import { RegistryAuthError } from '@mcp/common';
import { PodmanRuntime } from '@mcp/runtime/testing';
import { type TestRegistry, pushImage, removeRegistryImages, startRegistry } from '../../../test/servers/registry';
import { OciModule } from './oci.module';
import { type OciConfigData } from './oci-config';
import { type PullAuth, RegistryAuth } from './registry-auth';
import { PodmanRegistryLogin, RegistryLogin, type RegistryLoginInput } from './registry-login';

const SOURCE_IMAGE = 'localhost/mcp-test/busybox:1.0';
const runtime = new PodmanRuntime({ env: process.env });

async function makeSut(config: OciConfigData): Promise<RegistryAuth> {
  const moduleRef = await Test.createTestingModule({ imports: [OciModule.forRoot(config)] }).compile();
  return moduleRef.get(RegistryAuth);
}

function pullInto(image: string): (auth: PullAuth) => Promise<void> {
  return (auth) => runtime.pull({ image, ...auth });
}

describe(RegistryAuth.name, () => {
  describe('with a real htpasswd registry', () => {
    let registry: TestRegistry;
    let image: string;
    let dir: string;
    let passwordFile: string;
    let authFile: string;
    const password = 's3cret-Pa55-htpasswd';

    beforeAll(async () => {
      registry = await startRegistry({ auth: 'htpasswd', users: { alice: password } });
      image = await pushImage({ registry, source: SOURCE_IMAGE, name: 'mcp-test/busybox:1.0', username: 'alice', password });
    });

    afterAll(async () => {
      if (registry) {
        await removeRegistryImages(registry);
        await registry.close();
      }
    });

    beforeEach(async () => {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mcp-oci-'));
      passwordFile = path.join(dir, 'registry-password');
      fs.writeFileSync(passwordFile, `${password}\n`, { mode: 0o600 });
      authFile = path.join(dir, 'auth', 'auth.json');
      await removeRegistryImages(registry);
    });

    afterEach(() => {
      fs.rmSync(dir, { recursive: true, force: true });
    });

    const config = (): OciConfigData => ({
      authFile,
      credentials: [{ server: registry.host, username: 'alice', passwordFile, tlsVerify: false }],
    });

    describe('pullWithAuth', () => {
      it('should log in and pull an image from a registry with credentials', async () => {
        const sut = await makeSut(config());

        await sut.pullWithAuth({ image, pull: pullInto(image) });

        expect(await runtime.imageExists({ image })).toBe(true);
        expect(await sut.hasLogin(registry.host)).toBe(true);
      });

      it('should keep the auth file 0600 in a 0700 directory with no plain password in it', async () => {
        const sut = await makeSut(config());

        await sut.pullWithAuth({ image, pull: pullInto(image) });

        expect(fs.statSync(authFile).mode & 0o777).toBe(0o600);
        expect(fs.statSync(path.dirname(authFile)).mode & 0o777).toBe(0o700);
        const content = fs.readFileSync(authFile, 'utf8');
        expect(content).not.toContain(password);
        const entry = (JSON.parse(content) as { auths: Record<string, { auth: string }> }).auths[registry.host];
        expect(Buffer.from(entry?.auth ?? '', 'base64').toString('utf8')).toBe(`alice:${password}`);
      });

      it('should have an anonymous pull refused by the registry', async () => {
        await expect(runtime.pull({ image, tlsVerify: false })).rejects.toBeInstanceOf(RegistryAuthError);
      });

      it('should fail with an error naming the registry, user and file, and no secret, on a wrong password', async () => {
        fs.writeFileSync(passwordFile, 'wrong-password\n');
        const sut = await makeSut(config());

        const error = await sut.pullWithAuth({ image, pull: pullInto(image) }).catch((e: unknown) => e);

        expect(error).toBeInstanceOf(RegistryAuthError);
        expect((error as Error).message).toBe(`registry ${registry.host}: authentication failed for user alice (credentials in ${passwordFile})`);
        expect(JSON.stringify(error)).not.toContain('wrong-password');
        expect(await runtime.imageExists({ image })).toBe(false);
      });

      it('should log in again with a rotated password and retry once, without a restart', async () => {
        const sut = await makeSut(config());
        await sut.pullWithAuth({ image, pull: pullInto(image) });
        await removeRegistryImages(registry);
        const rotated = 'rotated-Pa55-2';
        // docker-registry 2.8 re-reads its htpasswd file when it changes: no server restart either.
        await registry.setPassword('alice', rotated);
        fs.writeFileSync(passwordFile, `${rotated}\n`);
        const attempts: PullAuth[] = [];

        try {
          await sut.pullWithAuth({
            image,
            pull: async (auth) => {
              attempts.push(auth);
              await pullInto(image)(auth);
            },
          });
        } finally {
          await registry.setPassword('alice', password);
        }

        expect(attempts).toHaveLength(2);
        expect(await runtime.imageExists({ image })).toBe(true);
        expect(fs.readFileSync(authFile, 'utf8')).toContain(Buffer.from(`alice:${rotated}`).toString('base64'));
      });

      it('should retry only once when the registry keeps refusing', async () => {
        const sut = await makeSut(config());
        let attempts = 0;

        const error = await sut
          .pullWithAuth({
            image,
            pull: async () => {
              attempts += 1;
              throw new RegistryAuthError('podman pull: unauthorized', { args: [], exitCode: 125, stderr: 'unauthorized' });
            },
          })
          .catch((e: unknown) => e);

        expect(attempts).toBe(2);
        expect((error as Error).message).toBe(`registry ${registry.host}: authentication failed for user alice (credentials in ${passwordFile})`);
      });

      it('should log in once for concurrent first pulls from one registry', async () => {
        const logins: string[] = [];
        const moduleRef = await Test.createTestingModule({ imports: [OciModule.forRoot(config())] })
          .overrideProvider(RegistryLogin)
          .useValue(
            new (class extends PodmanRegistryLogin {
              override async login(input: RegistryLoginInput): Promise<void> {
                logins.push(input.server);
                await super.login(input);
              }
            })(),
          )
          .compile();
        const sut = moduleRef.get(RegistryAuth);

        await Promise.all([1, 2, 3].map(() => sut.pullWithAuth({ image, pull: pullInto(image) })));

        expect(logins).toEqual([registry.host]);
      });

      it('should pull images of registries without credentials as before', async () => {
        const sut = await makeSut(config());
        const seen: PullAuth[] = [];

        await sut.pullWithAuth({ image: SOURCE_IMAGE, pull: async (auth) => void seen.push(auth) });

        expect(seen).toEqual([{}]);
        expect(fs.existsSync(authFile)).toBe(false);
      });
    });

    describe('ensureLogin', () => {
      it('should write an auth file entry for the server', async () => {
        const sut = await makeSut(config());

        await sut.ensureLogin(registry.host);

        expect(await sut.hasLogin(registry.host)).toBe(true);
      });

      it('should refuse a server without configured credentials', async () => {
        const sut = await makeSut(config());

        await expect(sut.ensureLogin('mcr.example.net')).rejects.toBeInstanceOf(RegistryAuthError);
      });
    });
  });

  describe('with a real registry using the bearer-token flow', () => {
    let registry: TestRegistry;
    let image: string;
    let dir: string;
    const password = 't0ken-flow-pass';

    beforeAll(async () => {
      registry = await startRegistry({ auth: 'token', users: { bob: password } });
      image = await pushImage({ registry, source: SOURCE_IMAGE, name: 'mcp-test/busybox:1.0', username: 'bob', password });
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mcp-oci-token-'));
    });

    afterAll(async () => {
      if (registry) {
        await removeRegistryImages(registry);
        await registry.close();
      }
      if (dir) fs.rmSync(dir, { recursive: true, force: true });
    });

    it('should pull through the token exchange with the configured credential', async () => {
      const tokenFile = path.join(dir, 'token');
      fs.writeFileSync(tokenFile, password, { mode: 0o600 });
      const sut = await makeSut({
        authFile: path.join(dir, 'auth.json'),
        credentials: [{ server: registry.host, username: 'bob', tokenFile, tlsVerify: false }],
      });
      await removeRegistryImages(registry);
      const before = registry.tokenIssuer?.requests.length ?? 0;

      await sut.pullWithAuth({ image, pull: pullInto(image) });

      expect(await runtime.imageExists({ image })).toBe(true);
      const exchanges = registry.tokenIssuer?.requests.slice(before) ?? [];
      expect(exchanges).toContainEqual({ username: 'bob', scopes: ['repository:mcp-test/busybox:pull'] });
    });

    it('should follow a rotated token without a restart', async () => {
      const tokenFile = path.join(dir, 'rotating-token');
      fs.writeFileSync(tokenFile, password, { mode: 0o600 });
      const sut = await makeSut({
        authFile: path.join(dir, 'rotating-auth.json'),
        credentials: [{ server: registry.host, username: 'bob', tokenFile, tlsVerify: false }],
      });
      await sut.pullWithAuth({ image, pull: pullInto(image) });
      await removeRegistryImages(registry);
      await registry.setPassword('bob', 'rotated-token-2');
      fs.writeFileSync(tokenFile, 'rotated-token-2');
      let attempts = 0;

      try {
        await sut.pullWithAuth({
          image,
          pull: async (auth) => {
            attempts += 1;
            await pullInto(image)(auth);
          },
        });
      } finally {
        await registry.setPassword('bob', password);
      }

      expect(attempts).toBe(2);
      expect(await runtime.imageExists({ image })).toBe(true);
    });

    it('should refuse a wrong credential at the token server with the clear error', async () => {
      const tokenFile = path.join(dir, 'bad-token');
      fs.writeFileSync(tokenFile, 'not-the-token', { mode: 0o600 });
      const sut = await makeSut({
        authFile: path.join(dir, 'bad-auth.json'),
        credentials: [{ server: registry.host, username: 'bob', tokenFile, tlsVerify: false }],
      });

      await expect(sut.pullWithAuth({ image, pull: pullInto(image) })).rejects.toThrow(
        `registry ${registry.host}: authentication failed for user bob (credentials in ${tokenFile})`,
      );
    });
  });
});
