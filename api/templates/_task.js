// Shared by the live and share pages: render a task snapshot (status, steps,
// output) into the page, adding only the steps not shown yet. Text goes in by
// textContent, never as HTML.
const FINAL = new Set(["finished", "stopped", "failed"]);

function el(tag, cls, text) {
  const node = document.createElement(tag);
  if (cls) node.className = cls;
  if (text !== undefined && text !== null) node.textContent = text;
  return node;
}

function describeAction(action) {
  const name = Object.keys(action || {})[0] || "?";
  const params = action[name] || {};
  const bits = Object.entries(params).map(([k, v]) => `${k}=${typeof v === "string" ? v : JSON.stringify(v)}`);
  return bits.length ? `${name}(${bits.join(", ")})` : name;
}

function renderStep(step, withScreenshot) {
  const item = el("li", "step");
  item.dataset.step = step.step;
  const head = el("div", "step-head");
  head.append(el("span", "step-no", `Step ${step.step}`), el("span", "step-goal", step.next_goal || ""));
  item.append(head);
  if (step.evaluation_previous_goal) item.append(el("div", "step-eval", step.evaluation_previous_goal));
  if (step.actions && step.actions.length) item.append(el("div", "step-actions", step.actions.map(describeAction).join(" · ")));
  if (step.url) item.append(el("div", "step-url", step.url));
  if (withScreenshot) {
    if (step.screenshot_url) {
      const shot = el("img", "step-shot");
      shot.loading = "lazy";
      shot.alt = `Screenshot of step ${step.step}`;
      shot.src = step.screenshot_url;
      item.append(shot);
    } else {
      item.append(el("div", "step-noshot", "No screenshot for this step."));
    }
  }
  return item;
}

function renderTask(data, parts, withScreenshots) {
  parts.status.textContent = data.status;
  parts.status.className = `status status-${data.status}`;
  const shown = parts.steps.querySelectorAll("li.step").length;
  if (data.steps.length < shown) parts.steps.replaceChildren();
  for (const step of data.steps.slice(parts.steps.querySelectorAll("li.step").length)) {
    parts.steps.append(renderStep(step, withScreenshots));
  }
  parts.empty.hidden = data.steps.length > 0;
  if (data.output !== null && data.output !== undefined) {
    parts.outputBox.hidden = false;
    parts.output.textContent = data.output;
  }
}

// Poll `url` every `every` ms until the task is final; `onData` gets each snapshot.
function pollTask(url, every, onData, onDenied) {
  let stopped = false;
  async function tick() {
    if (stopped) return;
    try {
      const response = await fetch(url, {cache: "no-store"});
      if (response.status === 403 || response.status === 404) {
        stopped = true;
        onDenied((await response.json()).detail || "Not available.");
        return;
      }
      if (response.ok) {
        const data = await response.json();
        onData(data);
        if (FINAL.has(data.status)) { stopped = true; return; }
      }
    } catch (err) { /* a blip: try again next tick */ }
    setTimeout(tick, every);
  }
  tick();
  return () => { stopped = true; };
}
