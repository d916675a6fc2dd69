// CommonJS consumer of the packed packages.
const assert = require('node:assert/strict');
const backends = require('@resnet/backends');
const cli = require('@resnet/cli');
const core = require('@resnet/core');
const node = require('@resnet/core/node');
const images = require('@resnet/images');
const imagesNode = require('@resnet/images/node');
const summary = require('@resnet/summary');
const train = require('@resnet/train');
const trainNode = require('@resnet/train/node');
const zoo = require('@resnet/zoo');

const expectedParams = Number(process.env.EXPECTED_RESNET18_PARAMS);
assert.equal(typeof backends.initBackend, 'function');
assert.ok(Array.isArray(cli.COMMANDS) && cli.COMMANDS.length >= 3);
assert.equal(typeof core.ResNet, 'function');
assert.equal(typeof node.loadTorchvisionWeights, 'function');
assert.equal(typeof summary.summary, 'function');
assert.equal(typeof images.preprocess, 'function');
assert.equal(typeof imagesNode.readImage, 'function');
assert.equal(images.resizedSize(300, 451, 256)[1], 384);
assert.equal(typeof train.trainStep, 'function');
assert.equal(typeof trainNode.saveCheckpoint, 'function');
const meta = zoo.createModel('resnet18', { meta: true });
assert.ok(meta instanceof core.ResNet, 'one @resnet/core instance across packages');
assert.equal(meta.countParameters(), expectedParams);
assert.match(summary.formatSummary(summary.summary(meta, [1, 224, 224, 3])), /Total params/);
console.log('cjs: ok');
