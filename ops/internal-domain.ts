/**
 * Domain of nodes that graph passes create (src/passes/fuse-*.ts): an ONNX operator under this domain runs with
 * its newest default-domain definition whatever the model's opset, so a pass can put a LayerNormalization (opset
 * 17) into an opset-14 graph. Such a node must spell out every attribute, and only ops whose attribute parsing
 * and emitter do not depend on the model's opset may be used this way (LayerNormalization, Gelu). Ops that exist
 * only for passes (QLinearLookup) are defined under this domain. (Its own file so that op files can import it
 * without a cycle through the registry.)
 */
export const INTERNAL_DOMAIN = 'onnx2wasm.internal';
