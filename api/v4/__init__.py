"""The v4 runs API (`/api/v4`), the one `browser-use-sdk` 3.x's README calls
(`from browser_use_sdk.v4 import BrowserUse`): its wire shapes (schemas.py), the
mapping from a run request to browserq's one task request and from the task read
model to a run (mapping.py), and its routes (routes.py)."""
