/**
 * Child process for the registry's crash-durability test: opens the registry at argv[2],
 * commits argv[3] services through it one at a time (saveService, then an event), reports
 * each commit on stdout once it returned, then SIGKILLs itself — no close, no checkpoint.
 */
import { TypeormRegistry } from '@mcp/registry/testing';

async function main(): Promise<void> {
  const [file, countText] = process.argv.slice(2);
  const registry = await TypeormRegistry.open({ path: file });
  for (let i = 0; i < Number(countText); i++) {
    const name = `durable-${i}`;
    await registry.saveService({
      name,
      active: true,
      components: [{ spec: { name, image: 'localhost/mcp-test/busybox:1.0', ports: [], volumes: [], cmd: [], env: [], routes: [] }, desiredState: 'running' }],
    });
    await registry.addEvent({ service: name, component: name, kind: 'deployed', message: `commit ${i}` });
    process.stdout.write(`committed ${name}\n`);
  }
  process.kill(process.pid, 'SIGKILL');
}

void main();
