import { InvalidServiceDefinitionError, ValidationIssue } from '@mcp/common';
import { parseServiceDefinition } from '../service-definition';

/** The smallest valid definition: one service, one component; a field's spec appends to it. */
export const HEAD = `name = "web"\nnode = "rift"\n\n[[components]]\nname = "web"\nimage = "localhost/web:1.0"\n`;

/** The issues `action` rejects a definition with; throws when it accepts, or fails otherwise. */
export function issuesThrownBy(action: () => unknown): ValidationIssue[] {
  try {
    action();
  } catch (error: unknown) {
    if (error instanceof InvalidServiceDefinitionError) return error.issues;
    throw error;
  }
  throw new Error('expected InvalidServiceDefinitionError, but the input was accepted');
}

/** The issues of a definition's text, read as the file `web.toml`. */
export function issuesOf(text: string): ValidationIssue[] {
  return issuesThrownBy(() => parseServiceDefinition(text, 'web.toml'));
}
