export { conv1x1, conv3x3 } from './convs.js';
export { BasicBlock, type BasicBlockOptions } from './basic-block.js';
export { BottleneckBlock, type BottleneckBlockOptions } from './bottleneck-block.js';
export { ShortcutProjection } from './shortcut-projection.js';
export { ZeroPadShortcut } from './zero-pad-shortcut.js';
export { IdentityBlock, ConvolutionalBlock, type BlockFilters } from './keras-blocks.js';
