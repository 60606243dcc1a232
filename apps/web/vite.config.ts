import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

/**
 * `npm run dev -w apps/web`: hot-reloading dev server on :5173 that proxies the API and the
 * WebSocket to a Sohbet server on :3000 (`npm run dev` at the root, or `npm start`).
 * `SOHBET_WEB_OUT_DIR` lets the end-to-end tests build into a temporary folder.
 */
const target = process.env.SOHBET_DEV_SERVER ?? 'http://localhost:3000';

export default defineConfig({
  plugins: [react()],
  build: {
    outDir: process.env.SOHBET_WEB_OUT_DIR ?? 'dist',
    emptyOutDir: true,
    sourcemap: true,
  },
  server: {
    port: 5173,
    proxy: {
      '/trpc': { target, changeOrigin: true },
      '/ws': { target: target.replace(/^http/, 'ws'), ws: true, changeOrigin: true },
    },
  },
});
