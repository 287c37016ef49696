// The digits demo: `npx vite examples/browser` (dev) or `npx vite build examples/browser` (static files in
// examples/browser/dist, which work offline from any static server: `npx vite preview examples/browser`).
import { defineConfig } from 'vite';
import onnx2wasm from 'onnx2wasm/vite';

export default defineConfig({
  plugins: [
    onnx2wasm({
      models: {
        // The canvas's RGBA pixels go straight into the module, which shrinks them to the model's 1x1x16x16 input.
        'digits_cnn.onnx': { imageInputs: { image: { format: 'RGBA', height: 256, width: 256 } } },
      },
    }),
  ],
  build: { emptyOutDir: true },
});
