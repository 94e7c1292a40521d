// Shared by the dashboard pages: the API key (kept in this tab's sessionStorage,
// never in a cookie or a URL), calls to the v1 API with it as the Bearer header,
// and how costs and ages read. Text goes in by textContent, never as HTML.
const KEY_SLOT = "browserq.apiKey";
const dash = window.dashboard = {calls: 0, errors: 0};

function apiKey() { return sessionStorage.getItem(KEY_SLOT); }

function signOut() {
  sessionStorage.removeItem(KEY_SLOT);
  location.assign("/ui");
}

// One v1 call. A refused key signs out; any other refusal throws its detail.
async function api(method, path, body) {
  dash.calls += 1;
  const init = {method, cache: "no-store", headers: {"Authorization": `Bearer ${apiKey()}`}};
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const response = await fetch(`/api/v1${path}`, init);
  if (response.status === 401 && path !== "/me") { signOut(); throw new Error("The API key was refused."); }
  let data = null;
  try { data = await response.json(); } catch (err) { /* no body */ }
  if (!response.ok) {
    dash.errors += 1;
    throw new Error(describeError(response.status, data));
  }
  return data;
}

// The same key on the v2 API (its own header), for what v2 alone computes (isSuccess).
async function apiV2(method, path) {
  dash.calls += 1;
  const response = await fetch(`/api/v2${path}`, {method, cache: "no-store", headers: {"X-Browser-Use-API-Key": apiKey()}});
  let data = null;
  try { data = await response.json(); } catch (err) { /* no body */ }
  if (!response.ok) { dash.errors += 1; throw new Error(describeError(response.status, data)); }
  return data;
}

function describeError(status, data) {
  const detail = data && data.detail;
  if (Array.isArray(detail)) return detail.map((e) => `${(e.loc || []).slice(1).join(".")}: ${e.msg}`).join("; ");
  return detail ? String(detail) : `The server answered ${status}.`;
}

function formatCost(cost) {
  if (!cost) return "—";
  if (cost.usd !== null && cost.usd !== undefined) return `$${Number(cost.usd).toFixed(cost.usd < 0.01 ? 4 : 2)}`;
  const tokens = (cost.input_tokens || 0) + (cost.output_tokens || 0);
  return `${tokens.toLocaleString("en")} tokens`;
}

function formatAge(iso, now) {
  const seconds = Math.max(0, ((now || Date.now()) - Date.parse(iso)) / 1000);
  if (seconds < 60) return `${Math.floor(seconds)} s ago`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min ago`;
  if (seconds < 86400) return `${Math.floor(seconds / 3600)} h ago`;
  return `${Math.floor(seconds / 86400)} d ago`;
}

function statusBadge(status) {
  return el("span", `status status-${status}`, status);
}
