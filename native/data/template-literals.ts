// What a chat template can learn about a message's content, read from its syntax tree: the string literals it tests
// content against. template-skeleton.ts renders a conversation shape once with stand-in contents and substitutes the
// real ones; that is exact only for contents the template treats as opaque text, so a content that contains one of
// these literals (or sits inside one, or starts or ends with a character the template strips) is rendered for real.
//
// A literal only matters where a value is tested or transformed: in output position (`{{ '<|im_start|>' + role }}`,
// text between tags, both sides of `+` and `~` there) it is copied, whatever the content. Everywhere else — conditions,
// comparisons, method and filter arguments, `set` values — it is collected, by how it can meet content:
//  - `substrings`: `'</think>' in content`, `content.split('</think>')`, `startswith`, `replace`, …: a content
//    containing the literal may take another path;
//  - `containers`: `role == 'system'`, `x in ['a', 'b']`: a content equal to, or a piece of, the literal may;
//  - `edgeChars`: `content.strip('\n')`, `|trim`: a content starting or ending with these characters (or any
//    whitespace) may.
// Uses the template measures in other ways (its length, say) are caught by rendering two very different stand-ins
// and comparing (template-skeleton.ts).
import { Template } from '@huggingface/jinja';

export interface TemplateLiterals {
  substrings: Set<string>;
  containers: Set<string>;
  edgeChars: Set<string>;
  /** Set when the template measures or reshapes content in a way no screening can follow (its length, a slice, its case). */
  unsupported?: string;
}

type Mode = 'output' | 'substrings' | 'containers' | 'edgeChars';
type Node = { type?: string; [key: string]: unknown };

/** Methods whose literal arguments are searched for inside the string they are called on. */
const SEARCHING_METHODS = new Set(['split', 'rsplit', 'startswith', 'endswith', 'replace', 'find', 'rfind', 'index', 'rindex', 'count', 'partition', 'rpartition', 'removeprefix', 'removesuffix']);
const STRIPPING = new Set(['strip', 'lstrip', 'rstrip', 'trim']);
/** Filters that copy their arguments into the output (join's separator) or use them only when a value is missing. */
/**
 * Filters and methods that measure a content or reshape it before a test (its length, its first character, its case):
 * a template using them on content is always rendered for real.
 */
const MEASURING = new Set(['length', 'count', 'wordcount', 'first', 'last', 'list', 'reverse', 'batch', 'slice', 'truncate', 'center', 'lower', 'upper', 'title', 'capitalize', 'swapcase', 'casefold', 'int', 'float', 'sort', 'unique']);
const COPYING_FILTERS = new Set(['join', 'default', 'd', 'tojson', 'indent', 'safe', 'string', 'e', 'escape']);

function literalValue(node: unknown): string | undefined {
  const n = node as Node | null;
  return n?.type === 'StringLiteral' && typeof n.value === 'string' ? n.value : undefined;
}

/** Whether an expression's source mentions content (`message.content`, `message['content']`, a variable `content`). */
function mentionsContent(node: unknown): boolean {
  if (node === null || typeof node !== 'object') return false;
  const n = node as Node;
  if (n.type === 'Identifier' && typeof n.value === 'string' && /content/i.test(n.value)) return true;
  if (n.type === 'StringLiteral' && typeof n.value === 'string' && /content/i.test(n.value)) return true;
  return Object.entries(n).some(([key, value]) => key !== 'type' && (Array.isArray(value) ? value.some(mentionsContent) : mentionsContent(value)));
}

export function templateLiterals(source: string): TemplateLiterals {
  const found: TemplateLiterals = { substrings: new Set(), containers: new Set(), edgeChars: new Set() };
  const add = (mode: Mode, text: string) => {
    if (mode === 'output' || text === '') return;
    if (mode === 'edgeChars') for (const ch of text) found.edgeChars.add(ch);
    else found[mode].add(text);
  };
  const sensitive = (mode: Mode): Mode => (mode === 'output' ? 'substrings' : mode);
  const walk = (node: unknown, mode: Mode): void => {
    if (node === null || node === undefined || typeof node !== 'object') return;
    if (Array.isArray(node)) return node.forEach((item) => walk(item, mode));
    if (node instanceof Map) {
      for (const [key, value] of node) {
        walk(key, 'output'); // object keys are names, not tests
        walk(value, mode);
      }
      return;
    }
    const n = node as Node;
    switch (n.type) {
      case 'StringLiteral':
        return add(mode, n.value as string);
      case 'Program':
        return walk(n.body, 'output');
      case 'If':
        walk(n.test, 'substrings');
        walk(n.body, mode);
        return walk(n.alternate, mode);
      case 'For':
        walk(n.iterable, 'substrings');
        // Looping over a content (its characters) tests pieces of it: every literal in the body counts.
        walk(n.body, mentionsContent(n.iterable) ? 'substrings' : mode);
        return walk(n.defaultBlock, mode);
      case 'SetStatement':
        walk(n.value, 'substrings');
        return walk(n.body, 'substrings');
      case 'Ternary':
        walk(n.condition, 'substrings');
        walk(n.trueExpr, mode);
        return walk(n.falseExpr, mode);
      case 'SelectExpression':
        walk(n.lhs, mode);
        return walk(n.test, 'substrings');
      case 'BinaryExpression': {
        const op = (n.operator as { value: string }).value;
        if (op === '+' || op === '~' || op === 'and' || op === 'or') {
          walk(n.left, mode);
          return walk(n.right, mode);
        }
        if (op === 'in' || op === 'not in') {
          walk(n.left, 'substrings');
          return walk(n.right, literalValue(n.right) !== undefined || (n.right as Node)?.type === 'ArrayLiteral' || (n.right as Node)?.type === 'TupleLiteral' ? 'containers' : 'substrings');
        }
        if (op === '==' || op === '!=') {
          walk(n.left, 'containers');
          return walk(n.right, 'containers');
        }
        // Ordering (<, >=, …) and arithmetic: anything literal there is tested.
        walk(n.left, 'substrings');
        return walk(n.right, 'substrings');
      }
      case 'CallExpression': {
        const callee = n.callee as Node;
        const method = callee?.type === 'MemberExpression' ? literalOrName((callee as Node).property) : undefined;
        walk(callee, mode);
        if (method && MEASURING.has(method) && mentionsContent((callee as Node).object)) found.unsupported = `it measures or reshapes a message's content (.${method}())`;
        const argMode: Mode = method && STRIPPING.has(method) ? 'edgeChars' : method === 'join' || method === 'format' ? mode : 'substrings';
        if (method && STRIPPING.has(method) && (n.args as unknown[]).length === 0) found.edgeChars.add(' ');
        return walk(n.args, argMode);
      }
      case 'FilterExpression': {
        const filter = n.filter as Node;
        const name = filter.type === 'CallExpression' ? literalOrName(filter.callee) : literalOrName(filter);
        if (name && MEASURING.has(name) && mentionsContent(n.operand)) found.unsupported = `it measures or reshapes a message's content (|${name})`;
        walk(n.operand, mode);
        if (name && STRIPPING.has(name)) found.edgeChars.add(' ');
        if (filter.type === 'CallExpression') {
          const argMode: Mode = name && STRIPPING.has(name) ? 'edgeChars' : name && COPYING_FILTERS.has(name) ? mode : ['selectattr', 'rejectattr', 'select', 'reject', 'map'].includes(name ?? '') ? 'containers' : 'substrings';
          walk(filter.args, argMode);
        }
        return;
      }
      case 'MemberExpression':
        // content[0], content[:5]: a character or a slice of a content, which no literal screening can follow.
        // (A piece of content.split('x') is fine: the split's literal is screened.)
        if (n.computed && literalValue(n.property) === undefined && isPath(n.object) && mentionsContent(n.object)) found.unsupported = "it indexes or slices a message's content";
        walk(n.object, mode);
        // message['content'] names a field; message[i] and slices compute one.
        return n.computed && literalValue(n.property) === undefined ? walk(n.property, sensitive(mode)) : undefined;
      case 'Macro':
        walk(n.args, 'substrings');
        return walk(n.body, 'output');
      case 'KeywordArgumentExpression':
        return walk(n.value, mode);
      default:
        // Tests (`is string`), unary operators, slices, literals of lists and tuples, calls as statements, comments:
        // anything literal below them is tested, except in output position where lists and tuples are printed.
        for (const [key, value] of Object.entries(n)) if (key !== 'type') walk(value, n.type === 'ArrayLiteral' || n.type === 'TupleLiteral' || n.type === 'ObjectLiteral' ? mode : sensitive(mode));
    }
  };
  walk(new Template(source).parsed, 'output');
  return found;
}

/** A variable or an attribute of one (`content`, `message.content`, `message['content']`), not a computed value. */
function isPath(node: unknown): boolean {
  const n = node as Node | null;
  return n?.type === 'Identifier' || (n?.type === 'MemberExpression' && isPath(n.object));
}

function literalOrName(node: unknown): string | undefined {
  const n = node as Node | null;
  if (n?.type === 'Identifier' && typeof n.value === 'string') return n.value;
  return literalValue(n);
}
