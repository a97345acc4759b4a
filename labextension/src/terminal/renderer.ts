/**
 * The renderer of one xterm.js terminal: WebGL (@xterm/addon-webgl) where it
 * works, else xterm's DOM renderer. WebGL can fail to start (no GPU, a
 * browser started with --disable-gpu, too many contexts) or lose its context
 * later (GPU reset, the browser reclaiming contexts): both fall back to the
 * DOM renderer, which needs nothing but the page (JupyterLab#15183 reports
 * WebGL glitches, hence the setting).
 */
import { IDisposable } from '@lumino/disposable';
import { Terminal } from '@xterm/xterm';

import { RendererSetting } from './settings';

/** What actually draws a terminal. */
export type ActiveRenderer = 'webgl' | 'dom';

/** The part of the WebGL addon used here (tests inject a fake). */
export interface IWebglLike {
  onContextLoss(listener: () => void): { dispose(): void };
  dispose(): void;
}

/** Makes and loads a WebGL addon into the terminal; throws when WebGL is unavailable. */
export type WebglFactory = (term: Terminal) => IWebglLike;

/** Whether a setting asks for WebGL, given the browser's GL renderer name (null: no WebGL2). */
export function wantsWebgl(
  setting: RendererSetting,
  glRenderer: string | null
): boolean {
  if (setting === 'auto') {
    // Software GL (SwiftShader, llvmpipe) drew the 20 MB flood 6x slower than the DOM.
    return (
      glRenderer !== null && !/swiftshader|llvmpipe|software/i.test(glRenderer)
    );
  }
  return setting === 'webgl';
}

/** The browser's (unmasked, when allowed) WebGL2 renderer name, or null without WebGL2. */
export function probeGlRenderer(): string | null {
  const gl = document.createElement('canvas').getContext('webgl2');
  if (gl === null) {
    return null;
  }
  const info = gl.getExtension('WEBGL_debug_renderer_info');
  const name: unknown = gl.getParameter(
    info ? info.UNMASKED_RENDERER_WEBGL : gl.RENDERER
  );
  gl.getExtension('WEBGL_lose_context')?.loseContext();
  return typeof name === 'string' ? name : '';
}

export class RendererSwitch implements IDisposable {
  constructor(
    private readonly _onChange: (renderer: ActiveRenderer) => void,
    private readonly _factory: WebglFactory,
    private readonly _probe: () => string | null = probeGlRenderer
  ) {}

  /** What draws the terminal now. */
  get active(): ActiveRenderer {
    return this._webgl === null ? 'dom' : 'webgl';
  }

  /** Why WebGL is not used, when it was asked for and failed. */
  get failure(): string | null {
    return this._failure;
  }

  get isDisposed(): boolean {
    return this._disposed;
  }

  /** Apply `setting` to an opened terminal (WebGL needs the terminal in the DOM). */
  apply(term: Terminal, setting: RendererSetting): void {
    if (this._disposed) {
      return;
    }
    if (setting === 'auto' && this._gl === undefined) {
      this._gl = this._probe();
    }
    if (!wantsWebgl(setting, this._gl ?? null)) {
      this._dropWebgl();
    } else if (this._webgl === null && !this._lost) {
      this._tryWebgl(term);
    }
    this._onChange(this.active);
  }

  dispose(): void {
    this._disposed = true;
    this._dropWebgl();
  }

  private _tryWebgl(term: Terminal): void {
    try {
      const addon = this._factory(term);
      addon.onContextLoss(() => {
        // A lost context is not retried: it tends to be lost again (GPU trouble).
        this._lost = true;
        this._failure = 'WebGL context lost';
        this._dropWebgl();
        this._onChange(this.active);
      });
      this._webgl = addon;
      this._failure = null;
    } catch (e) {
      this._failure = e instanceof Error ? e.message : String(e);
      console.warn('termmux: WebGL renderer unavailable, using DOM:', e);
    }
  }

  private _dropWebgl(): void {
    const addon = this._webgl;
    this._webgl = null;
    addon?.dispose();
  }

  private _webgl: IWebglLike | null = null;
  private _gl: string | null | undefined = undefined;
  private _lost = false;
  private _failure: string | null = null;
  private _disposed = false;
}
