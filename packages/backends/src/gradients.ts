/**
 * tfjs-core ships its gradient functions separately from its ops: `tf.grad`, `variableGrads`
 * and optimisers fail with "gradient function not found" until they are registered. The
 * @tensorflow/tfjs bundle registers them; with tfjs-core alone, this import does (our build
 * bundles tfjs-core's gradient definitions, which register into tfjs-core's global registry).
 */
import '@tensorflow/tfjs-core/dist/register_all_gradients';
