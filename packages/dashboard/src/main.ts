import { listView } from './list';
import { sessionView } from './session';
import { TOKEN_KEY, client, loadPermissions, saveToken, toast, type View } from './shared';

/** Hash routes: `#/` the sessions, `#/sessions/<id>` one session. */
function start(): void {
  const app = document.getElementById('app');
  if (!app) return;
  let current: View | null = null;

  const route = (): void => {
    current?.dispose();
    const m = /^#\/sessions\/([A-Za-z0-9_-]{1,128})$/.exec(location.hash);
    current = m?.[1] ? sessionView(app, m[1]) : listView(app);
    window.scrollTo(0, 0);
  };
  window.addEventListener('hashchange', route);

  // The token field (for servers with authentication on); kept in localStorage.
  const form = document.getElementById('token-form') as HTMLFormElement | null;
  const input = document.getElementById('token') as HTMLInputElement | null;
  if (form && input) {
    try {
      input.value = localStorage.getItem(TOKEN_KEY) ?? '';
    } catch {
      // storage disabled
    }
    form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      saveToken(input.value);
      void loadPermissions(true);
      toast(input.value.trim() ? 'token saved' : 'token cleared');
      route();
    });
  }
  const api = document.getElementById('api-url');
  if (api) api.textContent = client.baseUrl;
  route();
}

if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
else start();
