export { Identity, ReLU, Softmax } from './activation.js';
export { BatchNorm2d, type BatchNorm2dOptions, FUSED_BATCH_NORM_KERNELS } from './batchnorm2d.js';
export { Conv2d, type Conv2dOptions } from './conv2d.js';
export { Layer } from './layer.js';
export { Linear } from './linear.js';
export { Flatten, GlobalPool2d, MaxPool2d, type MaxPool2dOptions, ZeroPad2d } from './pooling.js';
export { Sequential } from './sequential.js';
export { formatShape } from './shapes.js';
