import type { ConsentView } from './oauth.authorize.js'

const SCOPE_TEXT: Record<string, string> = {
  read: 'Read your chats, memories and documents in this GPT',
  write: 'Add to and change your chats, memories and documents in this GPT',
}

const escape = (text: string) =>
  text.replace(/[&<>"']/g, (char) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[char]!)

// One small style sheet, inline under the page's CSP nonce: the page loads nothing from anywhere.
const STYLE = `body{font-family:system-ui,sans-serif;max-width:26rem;margin:3rem auto;padding:0 1rem;color:#1b1b1f}
h1{font-size:1.3rem}ul{padding-left:1.2rem}label{display:block;margin:.8rem 0 .2rem}input{width:100%;padding:.5rem;box-sizing:border-box}
.actions{display:flex;gap:.5rem;flex-wrap:wrap;margin-top:1rem}button{padding:.5rem .9rem;cursor:pointer}
.error{background:#fde8e8;border:1px solid #e0a0a0;padding:.6rem;border-radius:.3rem}.muted{color:#555;font-size:.9rem}`

function page(title: string, nonce: string, body: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${escape(title)}</title><style nonce="${nonce}">${STYLE}</style></head>
<body>${body}</body></html>`
}

/** The consent page: who asks for what, a sign-in / sign-up form, and approve or deny. */
export function consentPage(view: ConsentView, csrf: string, nonce: string, message: string | null): string {
  const scopes = view.scopes.map((scope) => `<li>${escape(SCOPE_TEXT[scope] ?? scope)}</li>`).join('')
  return page(
    `Sign in to ${view.gptName}`,
    nonce,
    `<h1>${escape(view.appName)} wants to use ${escape(view.gptName)} for you</h1>
<p>If you allow it, it may:</p><ul>${scopes}</ul>
${message === null ? '' : `<p class="error" role="alert">${escape(message)}</p>`}
<form method="post" action="/oauth/authorize/${escape(view.consentId)}">
<input type="hidden" name="csrf" value="${escape(csrf)}">
<label for="email">Email</label><input id="email" name="email" type="email" autocomplete="username" required>
<label for="password">Password</label><input id="password" name="password" type="password" autocomplete="current-password" required>
<p class="muted">New here? Choose a password of at least 10 characters with a lowercase and an uppercase letter, a digit and a special character, and sign up.</p>
<div class="actions">
<button type="submit" name="decision" value="signin">Sign in and allow</button>
<button type="submit" name="decision" value="signup">Sign up and allow</button>
<button type="submit" name="decision" value="deny" formnovalidate>Deny</button>
</div></form>`,
  )
}

/** An error the app cannot be told about (an unknown app or redirect URI): shown, never redirected. */
export function errorPage(message: string, nonce: string): string {
  return page('Cannot continue', nonce, `<h1>This sign-in cannot continue</h1><p class="error" role="alert">${escape(message)}</p>`)
}
