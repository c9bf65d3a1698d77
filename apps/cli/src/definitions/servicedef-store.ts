import * as fs from 'node:fs';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
// Deep import: @nestjs/common's index loads every service and pipe (the quick path, quick.ts, loads this file).
import 'reflect-metadata';
import { Injectable } from '@nestjs/common/decorators/core/injectable.decorator';
import { ComponentSpec, InvalidServiceDefinitionError, NotFoundError, ServiceSpec, ValidationError } from '@mcp/common';
import { CliConfigService } from '../config/cli-config.service';
import { CommandFailedError } from '../errors';
import { DefinitionStore, LoadedDefinition } from './definition-store';

/** @mcp/servicedef (parser, validator): load it only when a command reads definitions. */
function servicedef() {
  return import('@mcp/servicedef');
}

/** Definition files in `[services] dir`, parsed and validated by @mcp/servicedef. */
@Injectable()
export class ServicedefStore extends DefinitionStore {
  constructor(private readonly config: CliConfigService) {
    super();
  }

  fileFor(service: string): string {
    return path.join(this.config.get().servicesDir, `${service}.toml`);
  }

  exists(service: string): boolean {
    return fs.existsSync(this.fileFor(service));
  }

  async load(service: string): Promise<LoadedDefinition> {
    const file = this.fileFor(service);
    if (!fs.existsSync(file)) {
      throw new CommandFailedError(`no definition for "${service}": ${file} does not exist`);
    }
    const loaded = await this.loadFile(file);
    const expected = path.basename(file, '.toml');
    if (loaded.spec.name !== expected) {
      throw new InvalidServiceDefinitionError([{ file, path: 'name', reason: `must match the file name ("${expected}")` }]);
    }
    return loaded;
  }

  async loadFile(file: string): Promise<LoadedDefinition> {
    const { loadServiceFile } = await servicedef();
    try {
      return { file, spec: await loadServiceFile(file) };
    } catch (error) {
      if (error instanceof NotFoundError) throw new CommandFailedError(`${file} does not exist`);
      throw error;
    }
  }

  async loadAll(): Promise<LoadedDefinition[]> {
    const { loadServiceDir } = await servicedef();
    const dir = this.config.get().servicesDir;
    try {
      // loadServiceDir checks each file is named after its service, so the file is known.
      const specs = await loadServiceDir(dir);
      return specs.map((spec) => ({ file: path.join(dir, `${spec.name}.toml`), spec }));
    } catch (error) {
      if (error instanceof NotFoundError) return [];
      throw error;
    }
  }

  async setActive(file: string, active: boolean): Promise<void> {
    const { setActiveInDefinition } = await servicedef();
    const text = await fsp.readFile(file, 'utf8');
    let updated: string;
    try {
      updated = setActiveInDefinition(text, active);
    } catch (error) {
      if (error instanceof ValidationError) throw new InvalidServiceDefinitionError(error.issues.map((issue) => ({ file, ...issue })));
      throw error;
    }
    if (updated !== text) await writeAtomically(file, updated);
  }

  async setNode(file: string, node: string): Promise<void> {
    const { setNodeInDefinition } = await servicedef();
    const text = await fsp.readFile(file, 'utf8');
    let updated: string;
    try {
      updated = setNodeInDefinition(text, node);
    } catch (error) {
      if (error instanceof ValidationError) throw new InvalidServiceDefinitionError(error.issues.map((issue) => ({ file, ...issue })));
      throw error;
    }
    if (updated !== text) await writeAtomically(file, updated);
  }

  async setComponent(file: string, component: ComponentSpec): Promise<void> {
    const { setComponentInDefinition } = await servicedef();
    const text = await fsp.readFile(file, 'utf8');
    const updated = setComponentInDefinition(text, component, file);
    if (updated !== text) await writeAtomically(file, updated);
  }

  async componentChanges(from: ComponentSpec, to: ComponentSpec): Promise<string[]> {
    const { specChanges } = await servicedef();
    return specChanges(from, to);
  }

  async write(file: string, spec: ServiceSpec): Promise<void> {
    await writeAtomically(file, await this.serialize(spec));
  }

  async serialize(spec: ServiceSpec): Promise<string> {
    const { serializeServiceDefinition } = await servicedef();
    return serializeServiceDefinition(spec);
  }
}

/** Temp file + rename in the same folder: a crash never leaves half a definition. */
async function writeAtomically(file: string, text: string): Promise<void> {
  await fsp.mkdir(path.dirname(file), { recursive: true });
  const temp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.tmp`);
  let mode = 0o644;
  try {
    mode = (await fsp.stat(file)).mode & 0o777;
  } catch {
    // new file
  }
  await fsp.writeFile(temp, text, { mode });
  try {
    await fsp.rename(temp, file);
  } catch (error) {
    await fsp.rm(temp, { force: true });
    throw error;
  }
}
