import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import Database from 'better-sqlite3';
import { FailedPreconditionError, NotFoundError } from '@mcp/common';
import { TypeormRegistry } from '@mcp/registry/testing';
import { RegistryCorruptError } from '@mcp/registry';
import { makeTestConfig } from '../../../../test/support/test-config';
import { WebhookReceiver } from '@mcp/alerts/testing';
import { AgentConfig } from '../config/agent-config';
import { probeTarget, runRestore } from './restore.command';
import { runSnapshot } from './snapshot.command';

function integrity(file: string): string {
  const db = new Database(file, { readonly: true });
  try {
    return (db.pragma('integrity_check', { simple: true }) as string) ?? '';
  } finally {
    db.close();
  }
}

function countRows(file: string, table: string): number {
  const db = new Database(file, { readonly: true });
  try {
    return (db.prepare(`SELECT COUNT(*) AS n FROM ${table}`).get() as { n: number }).n;
  } finally {
    db.close();
  }
}

/** A separate process writing rows as fast as it can, like a busy agent would. */
function startWriter(file: string): ChildProcess {
  const script = `
    const Database = require('better-sqlite3');
    const db = new Database(process.argv[1], { timeout: 5000 });
    db.pragma('journal_mode = WAL');
    db.exec('CREATE TABLE IF NOT EXISTS load (id INTEGER PRIMARY KEY, body TEXT)');
    const insert = db.prepare('INSERT INTO load (body) VALUES (?)');
    const body = 'x'.repeat(2000);
    process.stdout.write('ready\\n');
    for (;;) { db.transaction(() => { for (let i = 0; i < 50; i++) insert.run(body); })(); }
  `;
  return spawn(process.execPath, ['-e', script, file], { cwd: path.resolve(__dirname, '../../../..'), stdio: ['ignore', 'pipe', 'inherit'] });
}

describe('registry commands', () => {
  let config: AgentConfig;
  const printed: string[] = [];
  const print = (line: string): void => void printed.push(line);

  beforeEach(async () => {
    config = makeTestConfig();
    printed.length = 0;
    const registry = await TypeormRegistry.open({ path: config.database.path });
    await registry.saveService({ name: 'app', active: true, components: [{ spec: { name: 'web', image: 'localhost/x:1', ports: [], volumes: [], cmd: [], env: [], routes: [] }, desiredState: 'running' }] });
    await registry.close();
  });

  afterEach(() => {
    fs.rmSync(path.dirname(config.database.path), { recursive: true, force: true });
  });

  describe(runSnapshot.name, () => {
    it('should write a verified 0600 copy while another process keeps writing', async () => {
      const writer = startWriter(config.database.path);
      try {
        await new Promise<void>((resolve) => writer.stdout!.once('data', () => resolve()));
        const outcomes = [];
        for (let i = 0; i < 3; i++) {
          outcomes.push(await runSnapshot({ config, now: new Date(Date.UTC(2026, 10, 23, 12, 0, i)), print }));
          await new Promise((resolve) => setTimeout(resolve, 50));
        }

        for (const outcome of outcomes) {
          expect(integrity(outcome.path)).toBe('ok');
          expect(fs.statSync(outcome.path).mode & 0o777).toBe(0o600);
          expect(countRows(outcome.path, 'services')).toBe(1);
        }
        expect(path.dirname(outcomes[0].path)).toBe(path.resolve(config.agent.backupDir));
        expect(printed).toEqual(outcomes.map((outcome) => outcome.path));
      } finally {
        writer.kill('SIGKILL');
      }
    });

    it('should keep only the newest N copies', async () => {
      const outDir = path.join(path.dirname(config.database.path), 'elsewhere');
      for (let i = 0; i < 4; i++) {
        await runSnapshot({ config, outDir, keep: 2, now: new Date(Date.UTC(2026, 10, 20 + i)), print });
      }

      expect(fs.readdirSync(outDir).sort()).toEqual(['mcp-registry-20261122T000000Z.db', 'mcp-registry-20261123T000000Z.db']);
    });

    it('should refuse a missing database', async () => {
      fs.rmSync(config.database.path);

      await expect(runSnapshot({ config, print })).rejects.toThrow(NotFoundError);
    });

    it('should raise a backup alert to the webhook when the snapshot fails, then fail', async () => {
      const receiver = new WebhookReceiver();
      try {
        const url = await receiver.start();
        const failing = new AgentConfig({ ...config, monitor: { ...config.monitor, alertWebhook: { url, format: 'json', timeoutMs: 5_000, attempts: 2 } } });
        fs.rmSync(config.database.path);
        receiver.answer(500);

        await expect(runSnapshot({ config: failing, print, now: new Date('2026-11-24T03:00:00Z') })).rejects.toThrow(NotFoundError);

        expect(receiver.received).toHaveLength(2);
        expect(receiver.bodies()[1]).toEqual({
          kind: 'backup',
          node: config.agent.nodeName,
          service: 'mcp-agent',
          component: 'registry',
          desired: 'snapshot',
          observed: 'failed',
          message: expect.stringContaining(`snapshot of ${config.database.path}`),
          time: '2026-11-24T03:00:00.000Z',
        });
        expect(printed).toEqual([]);
      } finally {
        await receiver.close();
      }
    });
  });

  describe(runRestore.name, () => {
    let snapshot: string;

    beforeEach(async () => {
      snapshot = (await runSnapshot({ config, print })).path;
      const registry = await TypeormRegistry.open({ path: config.database.path });
      await registry.deleteService('app');
      await registry.close();
    });

    it('should refuse while something listens on the agent address', async () => {
      const server = net.createServer();
      const { host, port } = probeTarget(config.server.grpcAddr);
      await new Promise<void>((resolve) => server.listen(port, host, resolve));
      try {
        await expect(runRestore({ config, file: snapshot, print })).rejects.toThrow(FailedPreconditionError);
        expect(countRows(config.database.path, 'services')).toBe(0);
      } finally {
        await new Promise((resolve) => server.close(resolve));
      }
    });

    it('should move the current database aside and put the snapshot in place', async () => {
      const outcome = await runRestore({ config, file: snapshot, now: new Date('2026-11-23T12:34:56Z'), print });

      expect(outcome.replaced).toBe(`${config.database.path}.replaced-20261123T123456Z`);
      expect(countRows(outcome.replaced!, 'services')).toBe(0);
      expect(countRows(config.database.path, 'services')).toBe(1);
      expect(fs.statSync(config.database.path).mode & 0o777).toBe(0o600);
      const registry = await TypeormRegistry.open({ path: config.database.path });
      try {
        expect((await registry.getService('app'))?.components.map((c) => c.name)).toEqual(['web']);
      } finally {
        await registry.close();
      }
    });

    it('should refuse a corrupt snapshot and leave the database alone', async () => {
      const bad = path.join(path.dirname(config.database.path), 'bad.db');
      fs.writeFileSync(bad, 'not a database at all'.repeat(100));

      await expect(runRestore({ config, file: bad, print })).rejects.toThrow(RegistryCorruptError);
      expect(fs.readdirSync(path.dirname(config.database.path)).some((name) => name.includes('.replaced-'))).toBe(false);
    });
  });

  describe(probeTarget.name, () => {
    it.each([
      ['127.0.0.1:9444', '127.0.0.1', 9444],
      [':9444', '127.0.0.1', 9444],
      ['0.0.0.0:9444', '127.0.0.1', 9444],
      ['[::]:9444', '::1', 9444],
      ['localhost:1', 'localhost', 1],
    ])('should probe %s at %s:%d', (address, host, port) => {
      expect(probeTarget(address)).toEqual({ host, port });
    });
  });
});
