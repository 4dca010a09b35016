import { defineConfig } from 'vite'
import vue from '@vitejs/plugin-vue'

// The host serves dist/ at / (see functions/Extensions/ConsoleExtensions.cs). `npm run dev` proxies the APIs to a
// host started by ./run, so the console can be worked on with hot reload.
const api = process.env.ENVFABRIC_URL ?? 'http://127.0.0.1:7071'

export default defineConfig({
  plugins: [vue()],
  base: '/',
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    sourcemap: false,
    chunkSizeWarningLimit: 4096,
    // Hashed file names under assets/: the host gives them a year of immutable caching, index.html none.
    assetsDir: 'assets',
    // The bundler's timing report is noise in ./run and ./test (a slow shared machine sets it off).
    rolldownOptions: { checks: { bundlerTimings: false } },
  },
  server: {
    proxy: Object.fromEntries(['/api', '/envs', '/v2', '/runtime'].map((p) => [p, { target: api, changeOrigin: false }])),
  },
})
