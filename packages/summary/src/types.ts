/** How an input shape is given and how shapes are displayed: `[N, H, W, C]` or torch's `[N, C, H, W]`. */
export type ShapeLayout = 'nhwc' | 'nchw';

/** Columns of the table, as torchinfo's `col_names`, plus our `receptive_field`. */
export type SummaryColumn =
  | 'input_size'
  | 'output_size'
  | 'num_params'
  | 'params_percent'
  | 'kernel_size'
  | 'groups'
  | 'mult_adds'
  | 'trainable'
  | 'receptive_field';

export const SUMMARY_COLUMNS: readonly SummaryColumn[] = [
  'input_size',
  'output_size',
  'num_params',
  'params_percent',
  'kernel_size',
  'groups',
  'mult_adds',
  'trainable',
  'receptive_field',
];

/** torchinfo's default columns. */
export const DEFAULT_COLUMNS: readonly SummaryColumn[] = ['output_size', 'num_params'];

export type SummaryFormat = 'text' | 'markdown' | 'html' | 'json';
export const SUMMARY_FORMATS: readonly SummaryFormat[] = ['text', 'markdown', 'html', 'json'];

export interface SummaryOptions {
  /** How `inputShape` is given and how shapes are shown. Default 'nhwc' (the tensors' own layout). */
  layout?: ShapeLayout;
  /** Deepest level shown (the root is 0). Default 3, as torchinfo. */
  depth?: number;
  /** Columns of the formatted table. Default ['output_size', 'num_params'], as torchinfo. */
  columns?: readonly SummaryColumn[];
  /** Bytes per activation and parameter. Default 4 (float32). */
  elementBytes?: number;
}

/** One module call, in execution order (one row per call, as torchinfo). */
export interface SummaryRow {
  /** torchinfo's label: `Bottleneck: 2-1` (the root has no suffix). */
  label: string;
  /** The PyTorch class name the module stands for (`Conv2d`, `Bottleneck`). */
  type: string;
  /** Nesting level in the module tree; the root is 0. */
  depth: number;
  /** torchinfo's 1-based running index among rows of the same depth (0 for the root). */
  depthIndex: number;
  /** Dotted module name as in the state_dict (`layer1.0.downsample`); '' for the root. */
  path: string;
  /** Shape of the input, in the summary's layout. */
  inputShape: number[];
  /** Shape of the output, in the summary's layout. */
  outputShape: number[];
  /** Parameters of the module and its descendants. */
  params: number;
  /** Of which trainable. */
  trainableParams: number;
  /** Parameters the module owns itself (not through a child). */
  ownParams: number;
  /** true / false / 'partial' as torchinfo's Trainable column; null when the module has no parameters. */
  trainable: boolean | 'partial' | null;
  /**
   * torchinfo's mult-adds: for a leaf its own count; for a container the sum over its leaf
   * descendants' calls made during this call.
   */
  multAdds: number;
  /** `[kh, kw]` of convolutions and poolings, null otherwise. */
  kernelSize: [number, number] | null;
  /** Convolution groups, null for other modules. */
  groups: number | null;
  /** Receptive field of one output position, in input pixels `[height, width]`. */
  receptiveField: [number, number];
  /** Distance in input pixels between neighbouring output positions `[height, width]`. */
  cumulativeStride: [number, number];
  /** Whether the module has no child modules. */
  isLeaf: boolean;
  /** A repeated call of a module with parameters already listed (torchinfo's "(recursive)"). */
  isRecursive: boolean;
}

/** Totals, with torchinfo's definitions (see the package README). */
export interface SummaryTotals {
  totalParams: number;
  trainableParams: number;
  nonTrainableParams: number;
  /** Sum over leaf calls of torchinfo's mult-adds. */
  totalMultAdds: number;
  /** Raw bytes of the input tensor (torchinfo adds ~56 bytes of Python object overhead). */
  inputBytes: number;
  /** 2 × output bytes of every leaf call that has parameters ("for gradients"). */
  forwardBackwardBytes: number;
  /** Bytes of the parameters (buffers excluded). */
  paramsBytes: number;
  /** inputBytes + forwardBackwardBytes + paramsBytes. */
  estimatedTotalBytes: number;
}

/** Subtotals of one stage: the stem, each `layerN`, the head. */
export interface StageSummary {
  name: string;
  /** Module paths of the depth-1 children in the stage. */
  modules: string[];
  params: number;
  multAdds: number;
  forwardBackwardBytes: number;
  outputShape: number[];
  receptiveField: [number, number];
  cumulativeStride: [number, number];
}

export interface ModelSummary {
  /** The model's name (`resnet50`) or its class name. */
  name: string;
  layout: ShapeLayout;
  /** The input shape, in `layout`. */
  inputShape: number[];
  /** The output shape, in `layout`. */
  outputShape: number[];
  depth: number;
  columns: SummaryColumn[];
  elementBytes: number;
  /** Every call, including those deeper than `depth` (formats show rows up to `depth`). */
  rows: SummaryRow[];
  totals: SummaryTotals;
  stages: StageSummary[];
  /** Weighted layers (convolutions and linear layers) on the longest path: 50 for ResNet-50. */
  weightedDepth: number;
  /** Receptive field of the last spatial feature map (before global pooling), `[height, width]`. */
  receptiveField: [number, number];
}
