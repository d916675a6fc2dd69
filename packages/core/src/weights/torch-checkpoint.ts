import { FormatError } from '../errors.js';
import type { ByteSource } from './byte-source.js';
import { decodeElements, ELEMENT_BYTES, type FileDtype } from './elements.js';
import type { HostTensor } from './host-tensor.js';
import { describePickleValue, PickleDict, PickleObject, PickleTuple, type PickleValue, unpickle } from './pickle.js';
import { checkView, gatherView, type StridedView } from './tensor-view.js';
import { readZipDirectory, readZipEntry, type ZipEntry } from './zip.js';

// torch.save's zip format (torch ≥ 1.6): `<archive>/data.pkl` pickles the object with each
// storage replaced by a persistent id ('storage', <storage type>, <key>, <location>, <numel>),
// `<archive>/data/<key>` holds that storage's bytes, `<archive>/byteorder` says 'little' or 'big'
// (little when absent, as torch ≥ 2.1 assumes) and `<archive>/version` (or `.data/version`) the
// format version. The archive folder is named after the file torch wrote ('archive' for buffers).

/** Largest data.pkl accepted (a resnet152 state_dict pickles to about 60 kB). */
export const MAX_PICKLE_BYTES = 64 * 1024 * 1024;

/** What `readTorchCheckpoint` returns: the state_dict's tensors and where they came from. */
export interface TorchCheckpoint {
  tensors: Map<string, HostTensor>;
  /** The dtype each tensor had in the file, before conversion to float32 or int32. */
  sourceDtypes: Map<string, FileDtype>;
  /** archive (folder name), version, byteorder, and wrapper when the state_dict sat under a key. */
  metadata: Record<string, string>;
}

/** Storage classes by name (`torch.FloatStorage`...), with their element types. */
const STORAGE_TYPES: Record<string, { dtype: string; bytes: number }> = {
  FloatStorage: { dtype: 'float32', bytes: 4 },
  DoubleStorage: { dtype: 'float64', bytes: 8 },
  HalfStorage: { dtype: 'float16', bytes: 2 },
  BFloat16Storage: { dtype: 'bfloat16', bytes: 2 },
  LongStorage: { dtype: 'int64', bytes: 8 },
  IntStorage: { dtype: 'int32', bytes: 4 },
  ShortStorage: { dtype: 'int16', bytes: 2 },
  CharStorage: { dtype: 'int8', bytes: 1 },
  ByteStorage: { dtype: 'uint8', bytes: 1 },
  BoolStorage: { dtype: 'bool', bytes: 1 },
  ComplexFloatStorage: { dtype: 'complex64', bytes: 8 },
  ComplexDoubleStorage: { dtype: 'complex128', bytes: 16 },
};

/** Keys under which training checkpoints (timm, Lightning, torchvision's references) keep the state_dict. */
const WRAPPER_KEYS = ['state_dict', 'model'] as const;

class StorageType extends PickleObject {
  constructor(
    readonly qualifiedName: string,
    readonly dtype: string,
    readonly bytes: number,
  ) {
    super();
  }
  describe(): string {
    return qualifiedNameOf(this.qualifiedName);
  }
}

class Storage extends PickleObject {
  constructor(
    readonly key: string,
    readonly type: StorageType,
    readonly numel: number,
    readonly entry: ZipEntry,
  ) {
    super();
  }
  describe(): string {
    return `storage '${this.key}' (${this.type.dtype})`;
  }
}

class TensorReference extends PickleObject implements StridedView {
  constructor(
    readonly storage: Storage,
    readonly offset: number,
    readonly shape: number[],
    readonly stride: number[],
    readonly count: number,
  ) {
    super();
  }
  describe(): string {
    return `a tensor of shape [${this.shape.join(', ')}]`;
  }
}

class Callable extends PickleObject {
  constructor(
    readonly qualifiedName: string,
    readonly body: (args: readonly PickleValue[]) => PickleValue,
  ) {
    super();
  }
  describe(): string {
    return this.qualifiedName;
  }
  override call(args: readonly PickleValue[]): PickleValue {
    return this.body(args);
  }
}

/**
 * Reads a state_dict from a torch.save zip archive. The central directory, data.pkl and each
 * storage record's size are checked (and the pickle's globals restricted) before any storage
 * byte is read; only the storages that the state_dict's tensors use are read.
 */
export function readTorchCheckpoint(source: ByteSource): TorchCheckpoint {
  const entries = readZipDirectory(source);
  const archive = findArchive(entries);
  const record = (name: string) => entries.get(`${archive}/${name}`);
  const version = record('.data/version') ?? record('version');
  if (!version) {
    throw new FormatError(
      `not a torch.save archive: neither ${archive}/version nor ${archive}/.data/version is present`,
    );
  }
  const versionText = recordText(source, version).trim();
  if (!/^\d{1,9}$/.test(versionText)) {
    throw new FormatError(`torch archive version ${JSON.stringify(versionText.slice(0, 20))} is not a number`);
  }
  const byteorderEntry = record('byteorder');
  const byteorder = byteorderEntry ? recordText(source, byteorderEntry) : 'little';
  if (byteorder !== 'little' && byteorder !== 'big') {
    throw new FormatError(
      `torch archive byteorder ${JSON.stringify(byteorder.slice(0, 20))}: expected 'little' or 'big'`,
    );
  }
  const pickleEntry = record('data.pkl') as ZipEntry;
  if (pickleEntry.size > MAX_PICKLE_BYTES) {
    throw new FormatError(
      `${archive}/data.pkl is ${pickleEntry.size} bytes; a state_dict pickle above ${MAX_PICKLE_BYTES} is refused`,
    );
  }
  const root = unpickle(readZipEntry(source, pickleEntry), torchHooks(entries, archive), `${archive}/data.pkl`);
  const { tensors: references, wrapper } = selectStateDict(root);
  const metadata: Record<string, string> = { archive, version: versionText, byteorder };
  if (wrapper) metadata.wrapper = wrapper;
  return { ...materialise(source, references, byteorder === 'little'), metadata };
}

function recordText(source: ByteSource, entry: ZipEntry): string {
  if (entry.size > 64) throw new FormatError(`${entry.name} holds ${entry.size} bytes; expected a short text`);
  return new TextDecoder().decode(readZipEntry(source, entry));
}

/**
 * Each tensor's values, once every dtype and the total size were checked: every storage is read
 * (and its CRC checked) once, decoded to float32 or int32, and each view copied out of it.
 */
function materialise(
  source: ByteSource,
  references: Map<string, TensorReference>,
  littleEndian: boolean,
): Pick<TorchCheckpoint, 'tensors' | 'sourceDtypes'> {
  let total = 0;
  const uses = new Map<Storage, number>();
  for (const [name, t] of references) {
    if (!isFileDtype(t.storage.type.dtype)) {
      throw new FormatError(
        `tensor '${name}' is ${t.storage.type.dtype} (${t.storage.type.describe()}); weights are read as float32, ` +
          'float16, bfloat16, float64, int64 or int32',
      );
    }
    total += t.count;
    uses.set(t.storage, (uses.get(t.storage) ?? 0) + 1);
  }
  if (total > source.size) {
    throw new FormatError(
      `the state_dict's tensors would hold ${total} values, more than the ${source.size}-byte file can describe ` +
        '(views that repeat storage elements); refusing to allocate them',
    );
  }
  const shared = new Map<Storage, Float32Array | Int32Array>();
  const tensors = new Map<string, HostTensor>();
  const sourceDtypes = new Map<string, FileDtype>();
  for (const [name, t] of references) {
    const dtype = t.storage.type.dtype as FileDtype;
    let storage = shared.get(t.storage);
    if (!storage) {
      const bytes = readZipEntry(source, t.storage.entry);
      storage = decodeElements(bytes, dtype, littleEndian, `tensor '${name}'`, source.readsAreCopies);
      if ((uses.get(t.storage) as number) > 1) shared.set(t.storage, storage);
    }
    const view = gatherView(storage, t);
    // A storage that several tensors view is never handed out itself: each tensor owns its values.
    const data = view === storage && shared.has(t.storage) ? view.slice() : view;
    tensors.set(name, { dtype: data instanceof Float32Array ? 'float32' : 'int32', shape: [...t.shape], data });
    sourceDtypes.set(name, dtype);
  }
  return { tensors, sourceDtypes };
}

function findArchive(entries: Map<string, ZipEntry>): string {
  const names = [...entries.keys()];
  const script = names.find((n) => /^[^/]+\/constants\.pkl$/.test(n));
  if (script) {
    throw new FormatError(
      'this is a TorchScript archive (torch.jit.save), which holds code as well as weights; only state_dicts are read. ' +
        "Save the weights with torch: torch.save(torch.jit.load(path).state_dict(), 'weights.pth')",
    );
  }
  const pickles = names.filter((n) => /^[^/]+\/data\.pkl$/.test(n));
  if (pickles.length === 0) {
    throw new FormatError(
      'a zip archive without <archive>/data.pkl: not a file written by torch.save. Expected a state_dict saved with ' +
        'torch.save(model.state_dict(), path) (torch ≥ 1.6)',
    );
  }
  if (pickles.length > 1) {
    throw new FormatError(
      `the zip archive holds ${pickles.length} data.pkl records (${pickles.join(', ')}); refusing an ambiguous archive`,
    );
  }
  return (pickles[0] as string).slice(0, -'/data.pkl'.length);
}

/** The globals and persistent ids that a state_dict needs, and nothing else. */
function torchHooks(entries: Map<string, ZipEntry>, archive: string) {
  const storages = new Map<string, Storage>();
  const orderedDict = new Callable('collections.OrderedDict', (args) => {
    if (args.length !== 0) throw new FormatError('collections.OrderedDict called with arguments');
    return new PickleDict();
  });
  const rebuildTensor = new Callable('torch._utils._rebuild_tensor_v2', (args) => {
    // (storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata]) — torch 2.x adds metadata.
    if (args.length !== 6 && args.length !== 7) {
      throw new FormatError(`torch._utils._rebuild_tensor_v2 takes 6 or 7 arguments; got ${args.length}`);
    }
    const [storage, offset, size, stride, requiresGrad, hooks, metadata] = args;
    if (!(storage instanceof Storage)) {
      throw new FormatError(
        `torch._utils._rebuild_tensor_v2 needs a storage; got ${describePickleValue(storage as PickleValue)}`,
      );
    }
    if (typeof requiresGrad !== 'boolean' || !(hooks instanceof PickleDict)) {
      throw new FormatError('torch._utils._rebuild_tensor_v2: requires_grad must be a bool and backward_hooks a dict');
    }
    if (metadata !== undefined && metadata !== null) {
      const set =
        metadata instanceof PickleDict ? [...metadata.items].filter(([, v]) => v !== false) : [['?', metadata]];
      if (set.length > 0) {
        throw new FormatError(
          `tensor metadata ${set.map(([k]) => String(k)).join(', ')} is not supported (plain dense tensors only)`,
        );
      }
    }
    const view: StridedView = {
      offset: intArgument(offset, 'storage_offset'),
      shape: intTuple(size, 'size'),
      stride: intTuple(stride, 'stride'),
    };
    const count = checkView(view, storage.numel, `tensor on storage '${storage.key}'`);
    return new TensorReference(storage, view.offset, view.shape, view.stride, count);
  });
  const rebuildParameter = new Callable('torch._utils._rebuild_parameter', (args) => {
    const [data, requiresGrad, hooks] = args;
    if (
      args.length !== 3 ||
      !(data instanceof TensorReference) ||
      typeof requiresGrad !== 'boolean' ||
      !(hooks instanceof PickleDict)
    ) {
      throw new FormatError('torch._utils._rebuild_parameter takes (tensor, requires_grad, backward_hooks)');
    }
    return data;
  });
  const allowed = new Map<string, PickleObject>([
    ['collections.OrderedDict', orderedDict],
    ['torch._utils._rebuild_tensor_v2', rebuildTensor],
    ['torch._utils._rebuild_parameter', rebuildParameter],
    // torch 2.x spells byte storages torch.UntypedStorage; 1.x torch.storage.UntypedStorage.
    ['torch.UntypedStorage', new StorageType('torch.UntypedStorage', 'uint8', 1)],
    ['torch.storage.UntypedStorage', new StorageType('torch.storage.UntypedStorage', 'uint8', 1)],
    ...Object.entries(STORAGE_TYPES).map(
      ([name, t]) => [`torch.${name}`, new StorageType(`torch.${name}`, t.dtype, t.bytes)] as [string, PickleObject],
    ),
  ]);
  return {
    findGlobal(module: string, name: string): PickleObject {
      const qualified = `${module}.${name}`;
      const found = allowed.get(qualified);
      if (found) return found;
      if (module === 'torch' && name.endsWith('Storage')) {
        throw new FormatError(
          `the storage type ${qualified} is not supported (quantized or unknown); supported: ${Object.keys(STORAGE_TYPES).join(', ')}`,
        );
      }
      throw new FormatError(
        `refusing the global ${qualifiedNameOf(qualified)}: a state_dict never needs it, and unpickling arbitrary globals is ` +
          'how a .pth file runs code (os.system, builtins.eval...). Only collections.OrderedDict, torch._utils._rebuild_tensor_v2, ' +
          '_rebuild_parameter and torch storage types are allowed. If the file is a whole pickled model or a training ' +
          'checkpoint that you trust, re-save just its weights with torch: torch.save(model.state_dict(), path)',
      );
    },
    persistentLoad(pid: PickleValue): PickleValue {
      const items = pid instanceof PickleTuple ? pid.items : [];
      const [kind, type, key, location, numel] = items;
      if (items.length !== 5 || kind !== 'storage') {
        throw new FormatError(
          `persistent id ${describePickleValue(pid)} is not ('storage', storage_type, key, location, numel)`,
        );
      }
      if (!(type instanceof StorageType) || typeof key !== 'string' || typeof location !== 'string') {
        throw new FormatError('a storage persistent id needs a storage type, a string key and a string location');
      }
      if (key.length === 0 || key.length > 1000)
        throw new FormatError(`invalid storage key of ${key.length} characters`);
      const elements = intArgument(numel, 'numel');
      const known = storages.get(key);
      if (known) {
        if (known.type !== type || known.numel !== elements) {
          throw new FormatError(
            `storage '${key}' is declared twice, as ${known.numel} ${known.type.dtype} and as ${elements} ${type.dtype} elements`,
          );
        }
        return known;
      }
      const entry = entries.get(`${archive}/data/${key}`);
      if (!entry) {
        throw new FormatError(
          `storage '${key}' has no record ${archive}/data/${key} in the archive (truncated or damaged file)`,
        );
      }
      const expected = elements * type.bytes;
      if (entry.size !== expected) {
        throw new FormatError(
          `storage '${key}' declares ${elements} ${type.dtype} elements (${expected} bytes) but its record holds ${entry.size} bytes`,
        );
      }
      const storage = new Storage(key, type, elements, entry);
      storages.set(key, storage);
      return storage;
    },
  };
}

/** The state_dict inside the unpickled object: the object itself, or a checkpoint's 'state_dict' / 'model'. */
function selectStateDict(root: PickleValue): { tensors: Map<string, TensorReference>; wrapper?: string } {
  const direct = tensorDict(root);
  if (direct) return { tensors: direct };
  if (root instanceof PickleDict) {
    for (const key of WRAPPER_KEYS) {
      const inner = tensorDict(root.items.get(key) ?? null);
      if (inner) return { tensors: inner, wrapper: key };
    }
    const shown = [...root.items]
      .filter(([, v]) => !(v instanceof TensorReference))
      .slice(0, 6)
      .map(([k, v]) => `${JSON.stringify(String(k))}: ${describePickleValue(v)}`);
    throw new FormatError(
      `the file holds a dict that is not a state_dict (${shown.join(', ')}${root.items.size > 6 ? ', ...' : ''}); expected ` +
        `a dict of tensors, or a checkpoint holding one under ${WRAPPER_KEYS.map((k) => `'${k}'`).join(' or ')}`,
    );
  }
  throw new FormatError(`the file holds ${describePickleValue(root)}, not a state_dict (a dict of tensors)`);
}

function tensorDict(value: PickleValue): Map<string, TensorReference> | undefined {
  if (!(value instanceof PickleDict)) return undefined;
  const out = new Map<string, TensorReference>();
  for (const [k, v] of value.items) {
    if (typeof k !== 'string' || !(v instanceof TensorReference)) return undefined;
    out.set(k, v);
  }
  return out;
}

function intArgument(value: PickleValue | undefined, what: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw new FormatError(`${what} must be a non-negative int; got ${describePickleValue(value ?? null)}`);
  }
  return value;
}

function intTuple(value: PickleValue | undefined, what: string): number[] {
  if (!(value instanceof PickleTuple)) {
    throw new FormatError(`${what} must be a tuple of ints; got ${describePickleValue(value ?? null)}`);
  }
  return value.items.map((v) => intArgument(v, what));
}

function isFileDtype(dtype: string): dtype is FileDtype {
  return Object.hasOwn(ELEMENT_BYTES, dtype);
}

/** posix.system is how pickle spells os.system on Linux (nt.system on Windows): say both. */
function qualifiedNameOf(qualified: string): string {
  const os = /^(posix|nt)\.(.+)$/.exec(qualified);
  return os ? `${qualified} (os.${os[2]})` : qualified;
}
