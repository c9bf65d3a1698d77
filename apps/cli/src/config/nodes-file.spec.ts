import { parse } from 'smol-toml';
import { addNodeToText, removeNodeFromText } from './nodes-file';

const TEXT = `# operator config
[services]
dir = "~/svc" # my services

# the main node
[[nodes]]
name = "rift"
address = "10.0.0.1:9444"

[[nodes]]
name = "vade"   # second
address = "10.0.0.2:9444"

[tls]
ca_cert = "ca.pem"
`;

describe(addNodeToText.name, () => {
  it('should append an entry and keep every existing byte', () => {
    const sut = addNodeToText(TEXT, { name: 'new', address: 'h:1', serverName: 'h.example.net' });
    expect(sut.startsWith(TEXT)).toBe(true);
    expect((parse(sut) as { nodes: unknown[] }).nodes).toEqual([
      { name: 'rift', address: '10.0.0.1:9444' },
      { name: 'vade', address: '10.0.0.2:9444' },
      { name: 'new', address: 'h:1', server_name: 'h.example.net' },
    ]);
  });

  it('should start an empty file with the entry', () => {
    expect(addNodeToText('', { name: 'a', address: 'h:1' })).toBe('[[nodes]]\nname = "a"\naddress = "h:1"\n');
  });
});

describe(removeNodeFromText.name, () => {
  it('should remove the named entry with its leading comment and keep the rest', () => {
    const sut = removeNodeFromText(TEXT, 'rift');
    expect(sut).toBe(`# operator config
[services]
dir = "~/svc" # my services

[[nodes]]
name = "vade"   # second
address = "10.0.0.2:9444"

[tls]
ca_cert = "ca.pem"
`);
  });

  it('should remove an entry followed by another table', () => {
    const sut = removeNodeFromText(TEXT, 'vade')!;
    expect(parse(sut)).toEqual({ services: { dir: '~/svc' }, nodes: [{ name: 'rift', address: '10.0.0.1:9444' }], tls: { ca_cert: 'ca.pem' } });
    expect(sut).toContain('# the main node\n[[nodes]]\nname = "rift"');
  });

  it('should return undefined for an unknown node', () => {
    expect(removeNodeFromText(TEXT, 'nope')).toBeUndefined();
  });
});
