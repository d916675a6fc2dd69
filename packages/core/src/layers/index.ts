export { Layer } from './layer.js';
export { Conv2d, type Conv2dOptions } from './conv2d.js';
export { BatchNorm2d, type BatchNorm2dOptions } from './batchnorm2d.js';
export { ReLU, Softmax, Identity } from './activation.js';
export { MaxPool2d, type MaxPool2dOptions, GlobalPool2d, Flatten, ZeroPad2d } from './pooling.js';
export { Linear } from './linear.js';
export { Sequential } from './sequential.js';
export { formatShape } from './shapes.js';
