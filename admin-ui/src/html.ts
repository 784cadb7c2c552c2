import { h } from 'preact'
import htm from 'htm'

/** Tagged-template markup: no JSX step in the build, no inline script in the page. */
export const html = htm.bind(h)
