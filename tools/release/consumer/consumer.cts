// A TypeScript consumer compiled as CommonJS: resolves the packages' .d.cts declarations.
import zoo = require('@resnet/zoo');
import core = require('@resnet/core');

const model: core.ResNet = zoo.createModel('resnet50', { meta: true });
const params: number = model.countParameters();
export = params;
