// Block YAML for the trainers' config files (Axolotl, LLaMA-Factory, accelerate), read there with PyYAML's safe_load.
// Every scalar is written as JSON (a JSON string is a valid YAML double-quoted scalar; true/false/null/numbers are YAML
// 1.1's too), so no quoting rule of YAML has to be reimplemented — except floats: PyYAML (YAML 1.1) reads `1e-5` as a
// STRING (its float pattern needs a dot and a signed exponent) and LLaMA-Factory hands values to the dataclasses
// unconverted, so exponent forms are written as `1.0e-05`. The values are configs we build: plain objects, lists,
// strings, finite numbers, booleans and null.

export type YamlValue = string | number | boolean | null | YamlValue[] | { [key: string]: YamlValue | undefined };

/** A number as YAML 1.1 reads it back as the same int or float. */
export function yamlNumber(value: number): string {
  if (!Number.isFinite(value)) throw new Error(`cannot write ${value} to YAML`);
  const text = String(value);
  const exp = /^(-?)(\d+)(?:\.(\d+))?e([+-])(\d+)$/.exec(text);
  if (!exp) return text;
  const [, sign, whole, fraction, expSign, digits] = exp;
  return `${sign}${whole}.${fraction ?? '0'}e${expSign}${digits.padStart(2, '0')}`;
}

function scalar(value: string | number | boolean | null): string {
  return typeof value === 'number' ? yamlNumber(value) : JSON.stringify(value);
}

const PLAIN_KEY = /^[A-Za-z_][A-Za-z0-9_.-]*$/;

function key(name: string): string {
  return PLAIN_KEY.test(name) ? name : JSON.stringify(name);
}

function lines(value: YamlValue, indent: string): string[] {
  if (Array.isArray(value)) {
    if (value.length === 0) return ['[]'];
    return value.flatMap((item) => {
      const body = lines(item, `${indent}  `);
      if (typeof item === 'object' && item !== null && !Array.isArray(item) && body.length > 0 && body[0] !== '{}') {
        // A mapping in a list: its first key on the dash's line.
        return [`${indent}- ${body[0].trimStart()}`, ...body.slice(1)];
      }
      return isBlock(item) ? [`${indent}-`, ...body] : [`${indent}- ${body[0]}`];
    });
  }
  if (typeof value === 'object' && value !== null) {
    const entries = Object.entries(value).filter(([, v]) => v !== undefined) as [string, YamlValue][];
    if (entries.length === 0) return ['{}'];
    return entries.flatMap(([name, item]) => {
      const body = lines(item, `${indent}  `);
      return isBlock(item) ? [`${indent}${key(name)}:`, ...body] : [`${indent}${key(name)}: ${body[0]}`];
    });
  }
  return [scalar(value)];
}

function isBlock(value: YamlValue): boolean {
  if (Array.isArray(value)) return value.length > 0;
  return typeof value === 'object' && value !== null && Object.values(value).some((v) => v !== undefined);
}

/** A top-level mapping as block YAML, keys in insertion order, `undefined` values left out; ends with a newline. */
export function toYaml(value: { [key: string]: YamlValue | undefined }): string {
  return lines(value, '').join('\n') + '\n';
}
