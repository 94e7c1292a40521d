"""Launching Chromium of a kind (shared/browser_kinds.py): the executable from
settings, else Playwright's own browser, else `chromium` on PATH (Debian's package),
or `chromium-headless-shell` for the lean kind, with the flags that keep its traffic
on the worker's egress proxy.

The stealth and headful kinds drop what tells a page it is automated (see
worker/browser/disguise.py for what each context adds): Playwright's
`--enable-automation` (which sets navigator.webdriver and the info bar) and Blink's
AutomationControlled feature (navigator.webdriver again), and open a window as large as
a screen, so the outer size is never smaller than the page.

Every kind runs with Chromium's popup blocker on (Playwright turns it off by default): a
page's `window.open` without a user gesture returns null at the source, as in a person's
browser, while a click (input over DevTools is a gesture) still opens its tab. The
headless shell of the lean kind has no popup blocker; the session's tab cap bounds it.

Chromium reads only the last `--disable-features` of its command line, so the features
turned off here are added to Playwright's own list (PLAYWRIGHT_DISABLED_FEATURES, its
default for the pinned Playwright) and Playwright's switch is left out;
tests/integration/test_chromium_args.py fails when Playwright's default list changes."""

from __future__ import annotations

import os
import shutil

from playwright.async_api import Browser, Playwright

from shared.settings import Settings

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-dev-shm-usage",
    # What the egress proxy would not see (every context connects through it; see
    # worker/browser/egress.py): no QUIC, and WebRTC only over the proxy's TCP (no UDP
    # of its own, no host candidates). WebTransport (QUIC) Chromium refuses by itself
    # in a context with a proxy (tested: tests/e2e/test_egress.py).
    "--disable-quic",
    "--webrtc-ip-handling-policy=disable_non_proxied_udp",
]
# What Playwright 1.65 passes as `--disable-features` (its chromiumSwitches).
PLAYWRIGHT_DISABLED_FEATURES = (
    "AvoidUnnecessaryBeforeUnloadCheckSync,DestroyProfileOnBrowserClose,HttpsUpgrades,"
    "HttpsFirstBalancedModeAutoEnable,LensOverlay,MediaRouter,PaintHolding,ThirdPartyStoragePartitioning,"
    "AvoidCorsURLLoaderRestartOnRedirect,TcpPortRandomizationWin,OptimizationHints,NetworkTimeServiceQuerying,"
    "AimEnabled,PreconnectToSearch,msForceBrowserSignIn,msEdgeUpdateLaunchServicesPreferredVersion"
)
# Autofill's form-type queries to content-autofill.googleapis.com, which the egress gate
# would refuse (and log) on every form the agent types into.
DISABLED_FEATURES = ["AutofillServerCommunication"]
# Playwright's defaults left out: its feature list (replaced by the merged one) and the
# switch that turns Chromium's popup blocker off.
IGNORED_DEFAULT_ARGS = [f"--disable-features={PLAYWRIGHT_DISABLED_FEATURES}", "--disable-popup-blocking"]
FEATURE_ARGS = [f"--disable-features={PLAYWRIGHT_DISABLED_FEATURES},{','.join(DISABLED_FEATURES)}"]


# A person's window: larger than any viewport a task asks for, on a screen of this size.
WINDOW = (1920, 1080)
DISGUISE_ARGS = ["--disable-blink-features=AutomationControlled", f"--window-size={WINDOW[0]},{WINDOW[1]}"]


class BrowserMissing(RuntimeError):
    """The executable of a kind is not installed."""


def missing_for(kind: str, settings: Settings) -> str | None:
    """What this host lacks to serve `kind`, said so an operator can act; None: nothing.
    `browserq worker` checks it at start rather than failing every task."""
    if kind == "lean" and not (settings.headless_shell_path or shutil.which("chromium-headless-shell")):
        return (
            "the lean browser kind needs chromium-headless-shell: install Debian's "
            "`chromium-headless-shell` package or set BROWSERQ_HEADLESS_SHELL_PATH"
        )
    if kind == "headful" and not shutil.which("Xvfb"):
        return "the headful browser kind needs Xvfb: install Debian's `xvfb` package"
    return None


def executable_path(playwright: Playwright, settings: Settings, kind: str = "stealth") -> str | None:
    if kind == "lean":
        shell = settings.headless_shell_path or shutil.which("chromium-headless-shell")
        if not shell:
            raise BrowserMissing(missing_for(kind, settings))
        return shell
    if settings.chromium_path:
        return settings.chromium_path
    bundled = playwright.chromium.executable_path
    if bundled and os.path.exists(bundled):
        return None
    return shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")


async def launch_chromium(
    playwright: Playwright, settings: Settings, kind: str = "stealth", display: str | None = None
) -> Browser:
    """`display`: the X display of the headful kind's window (worker/browser/virtual_display.py)."""
    disguised = kind != "lean"
    return await playwright.chromium.launch(
        executable_path=executable_path(playwright, settings, kind),
        headless=display is None and (settings.headless or kind == "lean"),
        args=CHROMIUM_ARGS + FEATURE_ARGS + (DISGUISE_ARGS if disguised else []),
        ignore_default_args=IGNORED_DEFAULT_ARGS + (["--enable-automation"] if disguised else []),
        env={**os.environ, "DISPLAY": display} if display else None,
        handle_sigint=False,
        handle_sigterm=False,
        handle_sighup=False,
    )
