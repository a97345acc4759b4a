import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

import { describe, expect, it } from 'vitest';

import { DEFAULT_SETTINGS, readSettings } from './settings';

const SCHEMA = JSON.parse(
  readFileSync(
    fileURLToPath(new URL('../../schema/plugin.json', import.meta.url)),
    'utf8'
  )
) as { properties: { [key: string]: { default: unknown } } };

describe('settings', () => {
  it('defaults match the schema shown in the Settings Editor', () => {
    const schemaDefaults = Object.fromEntries(
      Object.entries(SCHEMA.properties).map(([k, v]) => [k, v.default])
    );
    expect(schemaDefaults).toEqual({ ...DEFAULT_SETTINGS });
  });

  it('takes valid values and ignores wrong types', () => {
    expect(
      readSettings({ fontSize: 20, cursorStyle: 'bar', scrollback: 10.7 })
    ).toMatchObject({
      fontSize: 20,
      cursorStyle: 'bar',
      scrollback: 10
    });
    expect(
      readSettings({ fontSize: '20', cursorStyle: 'beam', fontFamily: '' })
    ).toEqual(DEFAULT_SETTINGS);
  });
});
