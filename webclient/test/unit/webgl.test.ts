// softwareRenderer: which WebGL renderers the terminal leaves for xterm.js's DOM renderer.
import { test } from "node:test";
import assert from "node:assert/strict";
import { softwareRenderer } from "../../src/webgl.js";

test("CPU emulations of WebGL are software", () => {
  for (const name of [
    "ANGLE (Google, Vulkan 1.3.0 (SwiftShader Device (Subzero) (0x0000C0DE)), SwiftShader driver)",
    "Google SwiftShader",
    "llvmpipe (LLVM 15.0.6, 256 bits)",
    "ANGLE (Mesa, llvmpipe (LLVM 17.0.6 256 bits), OpenGL 4.5)",
    "softpipe",
    "Apple Software Renderer",
    "ANGLE (Microsoft, Microsoft Basic Render Driver Direct3D11 vs_5_0 ps_5_0, D3D11)",
  ]) {
    assert.equal(softwareRenderer(name), true, name);
  }
});

test("GPUs are not, nor a hidden name", () => {
  for (const name of [
    "ANGLE (NVIDIA, NVIDIA GeForce RTX 3080 Direct3D11 vs_5_0 ps_5_0, D3D11)",
    "ANGLE (Intel, Mesa Intel(R) UHD Graphics 620 (KBL GT2), OpenGL 4.6)",
    "ANGLE (Apple, ANGLE Metal Renderer: Apple M1, Unspecified Version)",
    "AMD Radeon Pro 5500M OpenGL Engine",
    "Adreno (TM) 640",
    "",
  ]) {
    assert.equal(softwareRenderer(name), false, name);
  }
});
