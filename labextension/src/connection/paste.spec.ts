import { describe, expect, it } from 'vitest';

import { preparePaste, sendChunked, splitChunks } from './paste';

describe('paste', () => {
  it('prepares text as xterm does (CR line ends, bracketed markers)', () => {
    expect(preparePaste('a\nb\r\nc', false)).toBe('a\rb\rc');
    expect(preparePaste('x\n', true)).toBe('\x1b[200~x\r\x1b[201~');
  });

  it('splits into bounded chunks without breaking a surrogate pair', () => {
    expect(splitChunks('abcdefg', 3)).toEqual(['abc', 'def', 'g']);
    const emoji = 'ab\u{1F600}cd'; // a, b, high, low, c, d
    const chunks = splitChunks(emoji, 3);
    expect(chunks.join('')).toBe(emoji);
    expect(chunks[0]).toBe('ab');
    expect(chunks.every(c => c.length <= 3)).toBe(true);
    expect(splitChunks('', 3)).toEqual([]);
  });

  it('re-sends a refused chunk after a growing pause, in order, nothing lost', async () => {
    const sent: string[] = [];
    const waits: number[] = [];
    let refusals = 3;
    const result = await sendChunked(
      'abcdefgh',
      {
        send: async chunk => {
          if (chunk === 'def' && refusals > 0) {
            refusals--;
            return false;
          }
          sent.push(chunk);
          return true;
        },
        wait: async ms => {
          waits.push(ms);
        }
      },
      3
    );
    expect(sent.join('')).toBe('abcdefgh');
    expect(waits).toEqual([20, 40, 80]);
    expect(result).toEqual({ chunks: 3, retries: 3 });
  });
});
