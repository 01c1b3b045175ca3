// Whether WebGL is worth using: xterm.js's WebGL renderer is the fastest on a GPU and the
// slowest without one.

// fastWebGL2 reports whether WebGL2 runs on a GPU. Without one, browsers emulate it on the
// CPU (SwiftShader, llvmpipe): an idle terminal's WebGL renderer then kept half a core
// busy in Chromium's GPU process here (docs/benchmarks.md § The browser's cost), where the
// DOM renderer costs next to nothing. failIfMajorPerformanceCaveat alone did not refuse
// SwiftShader in Chromium 156, so the renderer's name decides too.
export function fastWebGL2(): boolean {
  try {
    const gl = document.createElement("canvas").getContext("webgl2", { failIfMajorPerformanceCaveat: true });
    if (!gl) return false;
    const info = gl.getExtension("WEBGL_debug_renderer_info");
    const name = info ? String(gl.getParameter(info.UNMASKED_RENDERER_WEBGL)) : "";
    gl.getExtension("WEBGL_lose_context")?.loseContext();
    return !softwareRenderer(name);
  } catch {
    return false;
  }
}

// softwareRenderer reports whether a WebGL renderer's name (UNMASKED_RENDERER_WEBGL) is a
// CPU emulation: Chromium's SwiftShader, Mesa's llvmpipe and softpipe, Windows' Basic
// Render Driver. A browser that hides the name ("") is taken at its word.
export function softwareRenderer(name: string): boolean {
  return /swiftshader|llvmpipe|softpipe|software|basic render driver/i.test(name);
}
