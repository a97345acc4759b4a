/** The connection indicator's tooltip for each negotiation outcome. */
import { describe, expect, it } from 'vitest';

import { protocolText } from './statusText';

describe('protocolText', () => {
  it('names v1 and the likely cause when no v2 was negotiated', () => {
    expect(protocolText({ version: 1 })).toBe(
      'protocol v1 (no v2 negotiated — a proxy may strip Sec-WebSocket-Protocol)'
    );
  });

  it('names v2 with the server and its version', () => {
    const info = {
      version: 2 as const,
      server: 'jupyter-termmux',
      serverVersion: '0.2.0'
    };
    expect(protocolText(info)).toBe('protocol v2 — jupyter-termmux 0.2.0');
    expect(protocolText({ ...info, negotiated: false })).toContain(
      'proxy dropped'
    );
  });
});
