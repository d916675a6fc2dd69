import { FormatError } from '../errors.js';

// A restricted unpickler: it understands the opcodes that Python's pickler emits for dicts,
// lists, tuples, strings, numbers and booleans (protocols 2 to 5), and nothing that builds
// arbitrary objects. Every global (GLOBAL, STACK_GLOBAL) goes through the host's `findGlobal`,
// which returns one of its own objects or refuses; the host's objects decide what calling them
// (REDUCE) does. There is no import, no attribute lookup and no Python: a pickle that would run
// code in Python is refused here, naming what it asked for.

/** Values that can be dictionary keys. */
export type PickleKey = string | number | bigint | boolean | null;
/** Python values as the unpickler builds them: lists are arrays; ints beyond 2^53 are bigints. */
export type PickleValue = PickleKey | PickleValue[] | PickleTuple | PickleDict | PickleObject;

export class PickleTuple {
  constructor(readonly items: readonly PickleValue[]) {}
}

export class PickleDict {
  readonly items = new Map<PickleKey, PickleValue>();
  /** Attributes set by BUILD (the `_metadata` that `Module.state_dict()` attaches). */
  attributes: PickleDict | undefined;
}

/** Objects that only the host creates: the globals it allows and what calling them returns. */
export abstract class PickleObject {
  /** How error messages name this object. */
  abstract describe(): string;
  /** REDUCE: `object(*args)`. Refused unless the host's object is callable. */
  call(_args: readonly PickleValue[]): PickleValue {
    throw new FormatError(`${this.describe()} cannot be called`);
  }
}

export interface UnpicklerHooks {
  /** GLOBAL `module.name`: the host's object for it, or a FormatError that names it. */
  findGlobal(module: string, name: string): PickleObject;
  /** BINPERSID: the object a persistent id stands for (torch: a storage). */
  persistentLoad(pid: PickleValue): PickleValue;
}

const OPCODE_NAMES = new Map<number, string>([
  [0x28, 'MARK'],
  [0x2e, 'STOP'],
  [0x30, 'POP'],
  [0x31, 'POP_MARK'],
  [0x32, 'DUP'],
  [0x46, 'FLOAT'],
  [0x49, 'INT'],
  [0x4a, 'BININT'],
  [0x4b, 'BININT1'],
  [0x4c, 'LONG'],
  [0x4d, 'BININT2'],
  [0x4e, 'NONE'],
  [0x50, 'PERSID'],
  [0x51, 'BINPERSID'],
  [0x52, 'REDUCE'],
  [0x53, 'STRING'],
  [0x54, 'BINSTRING'],
  [0x55, 'SHORT_BINSTRING'],
  [0x56, 'UNICODE'],
  [0x58, 'BINUNICODE'],
  [0x61, 'APPEND'],
  [0x62, 'BUILD'],
  [0x63, 'GLOBAL'],
  [0x64, 'DICT'],
  [0x7d, 'EMPTY_DICT'],
  [0x65, 'APPENDS'],
  [0x67, 'GET'],
  [0x68, 'BINGET'],
  [0x69, 'INST'],
  [0x6a, 'LONG_BINGET'],
  [0x6c, 'LIST'],
  [0x5d, 'EMPTY_LIST'],
  [0x6f, 'OBJ'],
  [0x70, 'PUT'],
  [0x71, 'BINPUT'],
  [0x72, 'LONG_BINPUT'],
  [0x73, 'SETITEM'],
  [0x74, 'TUPLE'],
  [0x29, 'EMPTY_TUPLE'],
  [0x75, 'SETITEMS'],
  [0x47, 'BINFLOAT'],
  [0x80, 'PROTO'],
  [0x81, 'NEWOBJ'],
  [0x82, 'EXT1'],
  [0x83, 'EXT2'],
  [0x84, 'EXT4'],
  [0x85, 'TUPLE1'],
  [0x86, 'TUPLE2'],
  [0x87, 'TUPLE3'],
  [0x88, 'NEWTRUE'],
  [0x89, 'NEWFALSE'],
  [0x8a, 'LONG1'],
  [0x8b, 'LONG4'],
  [0x42, 'BINBYTES'],
  [0x43, 'SHORT_BINBYTES'],
  [0x8c, 'SHORT_BINUNICODE'],
  [0x8d, 'BINUNICODE8'],
  [0x8e, 'BINBYTES8'],
  [0x8f, 'EMPTY_SET'],
  [0x90, 'ADDITEMS'],
  [0x91, 'FROZENSET'],
  [0x92, 'NEWOBJ_EX'],
  [0x93, 'STACK_GLOBAL'],
  [0x94, 'MEMOIZE'],
  [0x95, 'FRAME'],
  [0x96, 'BYTEARRAY8'],
  [0x97, 'NEXT_BUFFER'],
  [0x98, 'READONLY_BUFFER'],
]);

/** Python 2 module names that protocol-2 pickles use for Python 3 modules (pickle's fix_imports). */
const PYTHON2_MODULES: Record<string, string> = {
  __builtin__: 'builtins',
  copy_reg: 'copyreg',
  exceptions: 'builtins',
  cPickle: 'pickle',
};

/** Longest module or name that GLOBAL may spell. */
const MAX_GLOBAL_NAME = 1024;

/**
 * Unpickles `bytes` with the host's globals and persistent ids. `label` names the pickle in error
 * messages (e.g. "data.pkl"), which also give the byte offset of the opcode at fault.
 */
export function unpickle(bytes: Uint8Array, hooks: UnpicklerHooks, label = 'pickle'): PickleValue {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const utf8 = new TextDecoder('utf-8', { fatal: true });
  const stack: PickleValue[] = [];
  const marks: number[] = [];
  const memo = new Map<number, PickleValue>();
  let pos = 0;
  let at = 0;

  const fail = (message: string): never => {
    throw new FormatError(`${label} byte ${at}: ${message}`);
  };
  const need = (n: number): number => {
    if (n > bytes.length - pos) fail(`truncated pickle: ${n} more bytes needed, ${bytes.length - pos} left`);
    const start = pos;
    pos += n;
    return start;
  };
  const floor = () => (marks.length > 0 ? (marks[marks.length - 1] as number) : 0);
  const pop = (): PickleValue => {
    if (stack.length <= floor()) fail('stack underflow (damaged pickle)');
    return stack.pop() as PickleValue;
  };
  const top = (): PickleValue => {
    if (stack.length <= floor()) fail('stack underflow (damaged pickle)');
    return stack[stack.length - 1] as PickleValue;
  };
  const popMark = (): PickleValue[] => {
    const mark = marks.pop();
    if (mark === undefined) fail('no MARK to pop to (damaged pickle)');
    return stack.splice(mark as number);
  };
  const text = (start: number, length: number): string => {
    try {
      return utf8.decode(bytes.subarray(start, start + length));
    } catch {
      return fail('a string is not valid UTF-8');
    }
  };
  const line = (): string => {
    const end = bytes.indexOf(0x0a, pos);
    if (end < 0 || end - pos > MAX_GLOBAL_NAME) fail('GLOBAL without a newline-terminated name');
    const s = text(pos, end - pos);
    pos = end + 1;
    return s;
  };
  const global = (module: string, name: string) => {
    try {
      // Protocol 2 spells Python 3 modules by their Python 2 names; read them as Python 3 does.
      stack.push(
        hooks.findGlobal(Object.hasOwn(PYTHON2_MODULES, module) ? (PYTHON2_MODULES[module] as string) : module, name),
      );
    } catch (e) {
      if (e instanceof FormatError) fail(e.message);
      throw e;
    }
  };
  const setItem = (dict: PickleValue, key: PickleValue, value: PickleValue) => {
    if (!(dict instanceof PickleDict)) return fail(`SETITEM on ${describePickleValue(dict)}, not a dict`);
    if (key !== null && typeof key === 'object') return fail(`a dict key of type ${describePickleValue(key)}`);
    dict.items.set(key, value);
  };
  const append = (list: PickleValue, items: PickleValue[]) => {
    if (!Array.isArray(list)) return fail(`APPEND to ${describePickleValue(list)}, not a list`);
    for (const item of items) list.push(item);
  };

  for (;;) {
    at = pos;
    const op = bytes[need(1)] as number;
    switch (op) {
      case 0x80: {
        const version = bytes[need(1)] as number;
        if (version < 2 || version > 5) fail(`pickle protocol ${version} (2 to 5 are read)`);
        break;
      }
      case 0x95: {
        const length = view.getBigUint64(need(8), true);
        if (length > BigInt(bytes.length - pos)) fail('FRAME longer than the pickle');
        break;
      }
      case 0x2e: {
        if (marks.length > 0 || stack.length !== 1) fail('STOP with an unbalanced stack (damaged pickle)');
        if (pos !== bytes.length) fail(`${bytes.length - pos} bytes after STOP`);
        return stack[0] as PickleValue;
      }
      case 0x28:
        marks.push(stack.length);
        break;
      case 0x30:
        pop();
        break;
      case 0x31:
        popMark();
        break;
      case 0x7d:
        stack.push(new PickleDict());
        break;
      case 0x5d:
        stack.push([]);
        break;
      case 0x29:
        stack.push(new PickleTuple([]));
        break;
      case 0x74:
        stack.push(new PickleTuple(popMark()));
        break;
      case 0x85:
      case 0x86:
      case 0x87: {
        const items = Array.from({ length: op - 0x84 }, pop).reverse();
        stack.push(new PickleTuple(items));
        break;
      }
      case 0x61: {
        const item = pop();
        append(top(), [item]);
        break;
      }
      case 0x65: {
        const items = popMark();
        append(top(), items);
        break;
      }
      case 0x73: {
        const value = pop();
        const key = pop();
        setItem(top(), key, value);
        break;
      }
      case 0x75: {
        const items = popMark();
        if (items.length % 2 !== 0) fail('SETITEMS with an odd number of items');
        const dict = top();
        for (let i = 0; i < items.length; i += 2) setItem(dict, items[i] as PickleValue, items[i + 1] as PickleValue);
        break;
      }
      case 0x4e:
        stack.push(null);
        break;
      case 0x88:
        stack.push(true);
        break;
      case 0x89:
        stack.push(false);
        break;
      case 0x4a:
        stack.push(view.getInt32(need(4), true));
        break;
      case 0x4b:
        stack.push(bytes[need(1)] as number);
        break;
      case 0x4d:
        stack.push(view.getUint16(need(2), true));
        break;
      case 0x8a: {
        const n = bytes[need(1)] as number;
        stack.push(littleEndianInt(bytes.subarray(need(n), pos)));
        break;
      }
      case 0x47:
        stack.push(view.getFloat64(need(8), false));
        break;
      case 0x58: {
        const length = view.getUint32(need(4), true);
        stack.push(text(need(length), length));
        break;
      }
      case 0x8c: {
        const length = bytes[need(1)] as number;
        stack.push(text(need(length), length));
        break;
      }
      case 0x71:
        memo.set(bytes[need(1)] as number, top());
        break;
      case 0x72:
        memo.set(view.getUint32(need(4), true), top());
        break;
      case 0x94:
        memo.set(memo.size, top());
        break;
      case 0x68:
      case 0x6a: {
        const index = op === 0x68 ? (bytes[need(1)] as number) : view.getUint32(need(4), true);
        if (!memo.has(index)) fail(`memo entry ${index} was never stored (damaged pickle)`);
        stack.push(memo.get(index) as PickleValue);
        break;
      }
      case 0x63: {
        const module = line();
        global(module, line());
        break;
      }
      case 0x93: {
        const name = pop();
        const module = pop();
        if (typeof module !== 'string' || typeof name !== 'string') fail('STACK_GLOBAL needs two strings');
        global(module as string, name as string);
        break;
      }
      case 0x52: {
        const args = pop();
        const callable = pop();
        if (!(callable instanceof PickleObject)) fail(`REDUCE calls ${describePickleValue(callable)}`);
        if (!(args instanceof PickleTuple)) fail(`REDUCE with ${describePickleValue(args)} as arguments`);
        try {
          stack.push((callable as PickleObject).call((args as PickleTuple).items));
        } catch (e) {
          if (e instanceof FormatError) fail(e.message);
          throw e;
        }
        break;
      }
      case 0x62: {
        const state = pop();
        const target = top();
        if (!(target instanceof PickleDict) || !(state instanceof PickleDict)) {
          fail(`BUILD (setting the state of ${describePickleValue(target)}) is not part of a state_dict pickle`);
        }
        (target as PickleDict).attributes = state as PickleDict;
        break;
      }
      case 0x51: {
        const pid = pop();
        try {
          stack.push(hooks.persistentLoad(pid));
        } catch (e) {
          if (e instanceof FormatError) fail(e.message);
          throw e;
        }
        break;
      }
      default: {
        const name = OPCODE_NAMES.get(op);
        fail(
          name
            ? `opcode ${name} (0x${op.toString(16)}) is not part of a state_dict pickle; refusing it`
            : `unknown opcode 0x${op.toString(16).padStart(2, '0')} (damaged pickle or not a pickle)`,
        );
      }
    }
  }
}

/** A Python int from little-endian two's-complement bytes (LONG1); a number when it is safe. */
function littleEndianInt(bytes: Uint8Array): number | bigint {
  let value = 0n;
  for (let i = bytes.length - 1; i >= 0; i--) value = (value << 8n) | BigInt(bytes[i] as number);
  if (bytes.length > 0 && (bytes[bytes.length - 1] as number) & 0x80) value -= 1n << BigInt(8 * bytes.length);
  return value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : value;
}

/** A Python-flavoured name of a value's type, for error messages. */
export function describePickleValue(value: PickleValue): string {
  if (value === null) return 'None';
  if (typeof value === 'boolean') return 'a bool';
  if (typeof value === 'number') return Number.isInteger(value) ? 'an int' : 'a float';
  if (typeof value === 'bigint') return 'an int';
  if (typeof value === 'string') return 'a str';
  if (Array.isArray(value)) return 'a list';
  if (value instanceof PickleTuple) return 'a tuple';
  if (value instanceof PickleDict) return 'a dict';
  return value.describe();
}
