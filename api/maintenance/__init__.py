"""The housekeeping every API process runs (embedded included), every few seconds:
`loop` (take back tasks whose worker died, stop tasks paused too long, send what the
broker missed), `waiting` (due webhook events, tasks waiting under their key's cap),
`retention` (expired files) and `schedules` (scheduled tasks' runs). Every change is
a guarded UPDATE, so the copies of several API processes run together without harm."""
