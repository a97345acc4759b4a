/**
 * protocol/schema.json read as data for the tests: a strict checker of
 * messages in either direction (undeclared fields refused, as the Python
 * tests' protocol_check.py does) and generated examples of every kind,
 * message and terminal query. Not part of the built extension.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

type JSONObject = { [key: string]: unknown };

interface IKindJSON {
  type: string | string[];
  minLength?: number;
  maxLength?: number;
  pattern?: string;
  minimum?: number;
  maximum?: number;
  enum?: string[];
  enumOf?: string;
  items?: string;
  fields?: { [name: string]: IFieldJSON };
}

export interface IFieldJSON {
  kind: string;
  required?: boolean;
  since?: number;
}

interface ISchemaJSON {
  protocol: number;
  kinds: { [name: string]: IKindJSON };
  client: { [type: string]: JSONObject };
  server: { [type: string]: JSONObject };
  binary: {
    header: [string, string][];
    headerSize: number;
    types: { [name: string]: number };
  };
  errors: string[];
  defaults: { [name: string]: number | string };
  queries: {
    csi: Array<{ prefix?: string; intermediates?: string; final: string }>;
    windowReports: [number, number];
    osc: number[];
    dcs: Array<{ intermediates?: string; final: string }>;
  };
  [key: string]: unknown;
}

/** The file itself, as JSON (not through schemaData.ts, which it checks). */
export const SCHEMA_JSON: ISchemaJSON = JSON.parse(
  readFileSync(
    fileURLToPath(new URL('../../protocol/schema.json', import.meta.url)),
    'utf8'
  )
);

export type Direction = 'client' | 'server';

/** The fields of a message entry (object entries; numbers bound its versions). */
export function fieldsOf(entry: JSONObject): { [name: string]: IFieldJSON } {
  return Object.fromEntries(
    Object.entries(entry).filter(([, v]) => typeof v === 'object' && v !== null)
  ) as { [name: string]: IFieldJSON };
}

/** The protocol versions that have a message. */
export function versionsOf(entry: JSONObject): number[] {
  const first = typeof entry.since === 'number' ? entry.since : 1;
  const last =
    typeof entry.until === 'number' ? entry.until : SCHEMA_JSON.protocol;
  const out: number[] = [];
  for (let v = first; v <= last; v++) {
    out.push(v);
  }
  return out;
}

function hasType(value: unknown, type: string): boolean {
  switch (type) {
    case 'null':
      return value === null;
    case 'integer':
      return Number.isSafeInteger(value);
    case 'number':
      return typeof value === 'number' && Number.isFinite(value);
    case 'array':
      return Array.isArray(value);
    case 'object':
      return (
        typeof value === 'object' && value !== null && !Array.isArray(value)
      );
    default:
      return typeof value === type;
  }
}

/** Why `value` is not of `kind`, or null. */
export function valueError(
  value: unknown,
  kind: string,
  where: string,
  version?: number
): string | null {
  const spec = SCHEMA_JSON.kinds[kind];
  const types = Array.isArray(spec.type) ? spec.type : [spec.type];
  if (!types.some(t => hasType(value, t))) {
    return `${where}: not ${types.join(' or ')} (${kind})`;
  }
  if (typeof value === 'string') {
    const n = [...value].length;
    if (spec.maxLength !== undefined && n > spec.maxLength) {
      return `${where}: longer than ${spec.maxLength}`;
    }
    if (spec.pattern !== undefined && !new RegExp(spec.pattern).test(value)) {
      return `${where}: does not match ${spec.pattern}`;
    }
    const allowed =
      spec.enum ??
      (spec.enumOf !== undefined
        ? (SCHEMA_JSON[spec.enumOf] as string[])
        : undefined);
    if (allowed !== undefined && !allowed.includes(value)) {
      return `${where}: ${value} is not one of ${allowed.join(', ')}`;
    }
  } else if (typeof value === 'number') {
    if (spec.minimum !== undefined && value < spec.minimum) {
      return `${where}: below ${spec.minimum}`;
    }
    if (spec.maximum !== undefined && value > spec.maximum) {
      return `${where}: above ${spec.maximum}`;
    }
  } else if (Array.isArray(value)) {
    for (const [i, item] of value.entries()) {
      const e = valueError(item, spec.items!, `${where}[${i}]`, version);
      if (e !== null) {
        return e;
      }
    }
  } else if (spec.fields !== undefined) {
    return fieldsError(value as JSONObject, spec.fields, where, version);
  }
  return null;
}

function fieldsError(
  obj: JSONObject,
  fields: { [name: string]: IFieldJSON },
  where: string,
  version?: number,
  envelope: string[] = []
): string | null {
  for (const [name, value] of Object.entries(obj)) {
    if (envelope.includes(name)) {
      continue;
    }
    const spec = fields[name];
    if (spec === undefined) {
      return `${where}: undeclared field ${name}`;
    }
    if (version !== undefined && (spec.since ?? 1) > version) {
      return `${where}: field ${name} is v${spec.since}, not v${version}`;
    }
    const e = valueError(value, spec.kind, `${where}.${name}`, version);
    if (e !== null) {
      return e;
    }
  }
  for (const [name, spec] of Object.entries(fields)) {
    const since = spec.since ?? 1;
    const applies = version !== undefined ? since <= version : since === 1;
    if (spec.required && applies && !(name in obj)) {
      return `${where}: required field ${name} missing`;
    }
  }
  return null;
}

/**
 * Why `msg` is not a message of `direction` on `version` (undefined: any),
 * or null when the declaration allows it.
 */
export function messageError(
  msg: unknown,
  direction: Direction,
  version?: number
): string | null {
  if (!hasType(msg, 'object') || typeof (msg as JSONObject).type !== 'string') {
    return `${direction}: not an object with a string type`;
  }
  const { type, ...body } = msg as JSONObject;
  const entry = SCHEMA_JSON[direction][type as string];
  if (entry === undefined) {
    return `${direction}: undeclared message type ${type}`;
  }
  if (version !== undefined && !versionsOf(entry).includes(version)) {
    return `${type}: not a message of protocol v${version}`;
  }
  if (body.id !== undefined) {
    const e = valueError(body.id, 'requestId', `${type}.id`);
    if (e !== null) {
      return e;
    }
  }
  return fieldsError(body, fieldsOf(entry), type as string, version, ['id']);
}

/** A value of `kind` at the bottom (`min`) or top (`max`) of its bounds. */
export function exampleOf(kind: string, at: 'min' | 'max'): unknown {
  const spec = SCHEMA_JSON.kinds[kind];
  const type = Array.isArray(spec.type)
    ? spec.type[at === 'min' ? 1 : 0]
    : spec.type;
  switch (type) {
    case 'null':
      return null;
    case 'boolean':
      return at === 'max';
    case 'integer':
    case 'number':
      if (at === 'min') {
        return spec.minimum ?? 0;
      }
      return (
        spec.maximum ?? (spec.minimum ?? 0) + (type === 'number' ? 2.5 : 2)
      );
    case 'array':
      return [exampleOf(spec.items!, at)];
    case 'object':
      return Object.fromEntries(
        Object.entries(spec.fields!).map(([name, f]) => [
          name,
          exampleOf(f.kind, at)
        ])
      );
  }
  const allowed =
    spec.enum ??
    (spec.enumOf !== undefined
      ? (SCHEMA_JSON[spec.enumOf] as string[])
      : undefined);
  if (allowed !== undefined) {
    return at === 'min' ? allowed[0] : allowed[allowed.length - 1];
  }
  if (spec.pattern !== undefined) {
    return at === 'min' ? 'a' : 'A'.repeat(64);
  }
  if (at === 'min') {
    return 'x'.repeat(spec.minLength ?? 1);
  }
  return 'ü'.repeat(Math.min(spec.maxLength ?? 16, 1024));
}

/**
 * Examples of a message on `version`: every field it has there (at both
 * ends of their bounds), and only the required ones.
 */
export function examplesOf(
  direction: Direction,
  type: string,
  version: number
): JSONObject[] {
  const fields = Object.entries(fieldsOf(SCHEMA_JSON[direction][type])).filter(
    ([, f]) => (f.since ?? 1) <= version
  );
  const build = (at: 'min' | 'max', all: boolean): JSONObject => ({
    type,
    ...Object.fromEntries(
      fields
        .filter(([, f]) => all || f.required)
        .map(([name, f]) => [name, exampleOf(f.kind, at)])
    )
  });
  return [build('max', true), build('min', true), build('max', false)];
}

/** One sequence of each declared terminal query, as a program sends it. */
export function queryExamples(): string[] {
  const q = SCHEMA_JSON.queries;
  return [
    ...q.csi.map(
      c => `\x1b[${c.prefix ?? ''}6${c.intermediates ?? ''}${c.final}`
    ),
    `\x1b[${q.windowReports[0]}t`,
    `\x1b[${q.windowReports[1]};0t`,
    ...q.osc.map(n => `\x1b]${n};?\x07`),
    ...q.dcs.map(d => `\x1bP${d.intermediates ?? ''}${d.final}m\x1b\\`)
  ];
}
