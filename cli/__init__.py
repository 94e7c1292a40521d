"""The `browserq` command, the composition root of the service: it starts the API
(`api`), the workers (`worker`) or both (`dev`), so it is the one package that may
import both sides; `api`, `worker` and `shared` never import it.

- `app.py`: the service's own commands (dev, api, worker, flower, migrate, keys create, mcp)
- `client.py`: a terminal client of the HTTP API (run, follow, tasks, stop, pause, resume, answer)
- `admin.py`: the operator's commands on the database (keys list/revoke/budget, webhook)
- `flower.py`, `dev_procs.py`, `data_dir.py`: what those commands need and nothing else does
"""
