import { createRequire } from 'node:module';
import fs from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
const require = createRequire(import.meta.url);
const tfjsPath = path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json'));
const humanDir = require.resolve.paths('@vladmandic/human').map(p=>path.join(p,'@vladmandic/human')).find(p=>fs.existsSync(p));
const H = require(path.join(humanDir, 'dist/human.node-wasm.js'));
console.log(Object.keys(H));
const t0=performance.now();
const human = new H.Human({
  backend: 'wasm', wasmPath: tfjsPath + '/dist/', modelBasePath: 'file://' + humanDir + '/models/', debug: false, cacheSensitivity: 0,
  face: { enabled: true, detector: { rotation: true, maxDetected: 5, minConfidence: 0.3, return: false }, mesh: {enabled:true}, iris: { enabled: true }, description: { enabled: false }, emotion: { enabled: false }, antispoof: { enabled: false }, liveness: { enabled: false }, attention: {enabled:false} },
  body: { enabled: false }, hand: { enabled: false }, object: { enabled: false }, gesture: { enabled: false }, segmentation: { enabled: false }, filter: {enabled:false},
});
const tf = human.tf;
tf.io.registerLoadRouter((url) => {
  if (typeof url !== 'string' || !url.startsWith('file://')) return null;
  const file = url.slice(7);
  return { load: async () => {
    const json = JSON.parse(fs.readFileSync(file, 'utf8'));
    const dir = path.dirname(file);
    const specs = json.weightsManifest.flatMap(g => g.weights);
    const buffers = json.weightsManifest.flatMap(g => g.paths).map(p => fs.readFileSync(path.join(dir, p)));
    const buf = Buffer.concat(buffers);
    return { modelTopology: json.modelTopology, format: json.format, generatedBy: json.generatedBy, convertedBy: json.convertedBy, weightSpecs: specs, weightData: buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength) , userDefinedMetadata: json.userDefinedMetadata, signature: json.signature};
  }};
});
await human.load();
console.log('load', performance.now()-t0, human.tf.getBackend());
for (const f of process.argv.slice(2)) {
  const { data, info } = await sharp(f).flatten({background:"#ffffff"}).raw().toBuffer({ resolveWithObject: true });
  for (let i=0;i<1;i++){
  const t1=performance.now();
  const tensor = tf.tensor3d(new Uint8Array(data), [info.height, info.width, 3], 'int32');
  const res = await human.detect(tensor);
  tf.dispose(tensor);
  const face = res.face[0];
  if(!res.face[0]){console.log(f,'none');continue;} {const fc=res.face[0]; const xs=fc.mesh.map(p=>p[0]), ys=fc.mesh.map(p=>p[1]); console.log(f, info.width, info.height, fc.box, fc.boxRaw.map(v=>+v.toFixed(2)), Math.min(...xs)|0, Math.max(...xs)|0, Math.min(...ys)|0, Math.max(...ys)|0, fc.size);}
  }
}
