import type { Flow } from '../flow.js';
import { Module } from '../module.js';

/** `nn.Sequential`: children named "0", "1", ... run in order. */
export class Sequential extends Module {
  readonly typeName: string = 'Sequential';
  private readonly layers: Module[];

  constructor(layers: readonly Module[]) {
    super();
    this.layers = [...layers];
    this.layers.forEach((layer, i) => {
      this.registerModule(String(i), layer);
    });
  }

  /** The child modules in order. */
  get modules(): readonly Module[] {
    return this.layers;
  }

  get length(): number {
    return this.layers.length;
  }

  forward(input: Flow): Flow {
    return this.layers.reduce<Flow>((x, layer) => layer.call(x), input);
  }
}
